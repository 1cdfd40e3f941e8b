/**
 * `--log-format json`: one JSON object per line, formatted by pino, written without blocking
 * the event loop. A stderr or stdout that is a pipe or a socket gets the whole-line writer of
 * stdio.ts (pipeLines.ts: a master's processes share it, and no line may be torn); a terminal
 * or a file an asynchronous SonicBoom writer (pino's own destination); a log file gets the FileSink of the text format (asynchronous too, batched
 * appends in libuv's thread pool, with its note-and-fallback when the file cannot be written). A write that fails (EPIPE from a closed pipe, EIO from a hung-up
 * terminal) marks the stream as gone: the lines after it are dropped, a stdout that is gone
 * falls back to stderr with a note, and nothing throws. What is still buffered when the process
 * exits is flushed synchronously on 'exit' (`process.exit()` included).
 */
import pino from 'pino';
import { realStdio, stdioIsPipe, type StdName } from './stdio';

/** The fields a log line may carry besides its message (named in snake_case in the JSON). */
export interface LogFields {
  /** The worker id (`host:pid:queues`). */
  workerId?: string;
  /** The job's class, on the lines of a job. */
  jobClass?: string;
  /** The job's queue. */
  queue?: string;
  /** How long the job (or the operation) took, in milliseconds. */
  durationMs?: number;
}

/** The JSON keys of LogFields. */
export const JSON_FIELD_KEYS: Record<keyof LogFields, string> = {
  workerId: 'worker_id',
  jobClass: 'job_class',
  queue: 'queue',
  durationMs: 'duration_ms',
};

/** One line's JSON object, before pino adds time and level. */
export function jsonBindings(scope: string | undefined, fields: LogFields | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (scope) o['scope'] = scope;
  if (fields) {
    for (const k of Object.keys(JSON_FIELD_KEYS) as (keyof LogFields)[]) {
      const v = fields[k];
      if (v !== undefined) o[JSON_FIELD_KEYS[k]] = k === 'durationMs' ? Math.round((v as number) * 1000) / 1000 : v;
    }
  }
  return o;
}

/** pino's asynchronous destination (a SonicBoom), per stream. */
type Boom = ReturnType<typeof pino.destination>;

const boomFor: Partial<Record<StdName, { boom: Boom; gone: boolean }>> = {};
let exitHooked = false;

function stdBoom(which: StdName): { boom: Boom; gone: boolean } {
  let b = boomFor[which];
  if (b) return b;
  const boom = pino.destination({ fd: which === 'stdout' ? 1 : 2, sync: false, minLength: 0 });
  const entry = { boom, gone: false };
  // EPIPE / EIO: the stream is gone; never an uncaught exception.
  boom.on('error', () => {
    entry.gone = true;
  });
  boomFor[which] = b = entry;
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const e of Object.values(boomFor)) {
        if (!e || e.gone) continue;
        try {
          e.boom.flushSync();
        } catch {
          /* the stream is gone: nothing more to do */
        }
      }
    });
  }
  return entry;
}

let stdoutFallbackNoted = false;

/**
 * Writes a line (with its newline) to stdout or stderr asynchronously. Returns false when the
 * stream is gone (the line is then dropped, or for stdout sent to stderr by the caller).
 */
export function writeStdAsync(which: StdName, text: string): boolean {
  // A stream the sync writer already saw fail (stdio.ts) is gone for this one too.
  if (realStdio.gone(which)) return false;
  // A pipe or a socket (shared with the master's other processes): whole lines (stdio.ts), never torn.
  if (stdioIsPipe(which)) return realStdio.write(which, text);
  const e = stdBoom(which);
  if (e.gone) return false;
  try {
    e.boom.write(text);
    return true;
  } catch {
    e.gone = true;
    return false;
  }
}

/** The asynchronous line writer of a JSON log for stderr or stdout (stdout falls back to stderr, with a note). */
export function asyncStdSink(which: StdName): (line: string) => void {
  if (which === 'stderr') return line => void writeStdAsync('stderr', line + '\n');
  return line => {
    if (writeStdAsync('stdout', line + '\n')) return;
    if (!stdoutFallbackNoted) {
      stdoutFallbackNoted = true;
      writeStdAsync(
        'stderr',
        `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), pid: process.pid, message: 'cannot write the log to stdout; logging to stderr from now on' })}\n`,
      );
    }
    writeStdAsync('stderr', line + '\n');
  };
}

/** A pino instance that formats lines and hands each (without its newline) to `write`. */
export function jsonFormatter(level: string, write: (line: string) => void): pino.Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      messageKey: 'message',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: label => ({ level: label }) },
    },
    {
      write(s: string) {
        write(s.endsWith('\n') ? s.slice(0, -1) : s);
      },
    },
  );
}
