/** The environment variable that gives the log keeper its files (JSON `{ stdout, stderr }`, absolute paths). */
export const LOG_KEEPER_SPEC_ENV = 'PYRES_LOG_KEEPER_SPEC';
