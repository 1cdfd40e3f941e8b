/**
 * Every error pyres-ts throws on purpose. Tell them apart with `instanceof`, never by message.
 */
export class PyresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A wrong option or flag; the message names it. */
export class ConfigError extends PyresError {}

/** A queue item that is not a usable Resque job payload. */
export class PayloadDecodeError extends PyresError {}

/** A payload whose class is not in the job registry. */
export class UnknownJobClassError extends PyresError {
  constructor(
    readonly className: string,
    registered: readonly string[],
  ) {
    const shown = className.length > 200 ? `${className.slice(0, 200)}... (${className.length} chars)` : className;
    super(
      `unknown job class ${JSON.stringify(shown)}: no job is registered under that name` +
        (registered.length ? ` (registered: ${registered.join(', ')})` : ' (no jobs are registered; pass --jobs)'),
    );
  }
}

/** A job module given with --jobs could not be loaded or exports no job. */
export class JobLoadError extends PyresError {}

/** The job was aborted (TERM, USR1, timeout) and did not finish in time. */
export class DirtyExitError extends PyresError {}

/** Redis could not be reached. */
export class ConnectionError extends PyresError {}

/**
 * Redis refused what the connection needs and retrying cannot help: the username/password, an
 * ACL that forbids what pyres-ts needs, or the database number (SELECT out of range).
 */
export class AuthError extends ConnectionError {}

/**
 * SELECT of a database the server does not have. ioredis reports it as an 'error' event and
 * goes on in database 0: a worker given `redis://host/99999` worked database 0's jobs.
 */
export function isBadDatabaseError(e: unknown): boolean {
  return e instanceof Error && /DB index is out of range|invalid DB index/i.test(e.message);
}

/** WRONGPASS, NOAUTH, NOPERM and friends. */
export function isAuthError(e: unknown): boolean {
  return e instanceof Error && /WRONGPASS|NOAUTH|NOPERM|invalid (username-)?password|AUTH failed|ERR AUTH/i.test(e.message);
}

/** Turns anything thrown into an Error, so loop boundaries never deal with non-errors. */
export function coerceError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(e)}`);
  } catch {
    return new Error(`non-error thrown: ${String(e)}`);
  }
}

/** The one place that recognises ioredis connection failures by their text. */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  if (code && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH)$/.test(code)) return true;
  return /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|MaxRetriesPerRequestError|LOADING|Reached the max retries/i.test(e.message);
}
