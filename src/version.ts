/** pyres-ts's own version; kept in step with package.json by a unit test. */
export const VERSION = '0.1.0';
/** The Resque version whose protocol pyres-ts writes; it appears in process titles (`resque-3.0.0`). */
export const RESQUE_PROTOCOL_VERSION = '3.0.0';
