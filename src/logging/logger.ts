import { resolve } from 'node:path';
import { errText, type FileSink, sharedFileSink } from './fileSink';
import type { LogFields } from './json';
import { realStdio, type StdioPort } from './stdio';

export type { LogFields } from './json';
export {
  drainLogFiles,
  FileSink,
  type FileSinkOptions,
  LOG_FILE_QUEUE_BYTES,
  LOG_FILE_QUEUE_MAX_BYTES,
  LOG_FILE_RETRY_MS,
  LOG_FILE_STALL_MS,
} from './fileSink';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** `--log-format`: text lines (the default) or one JSON object per line. */
export type LogFormat = 'text' | 'json';

/** The log formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A logger. `fields` (worker id, job class, queue, duration) are keys of their own in the JSON
 * format; the text format leaves them out (its lines say the same in words).
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry `scope`, e.g. the worker id, and `fields` on every line. */
  child(scope: string, fields?: LogFields): Logger;
  /**
   * Whether a line at `level` would be written. Optional (a logger without it is taken to write
   * every level); callers use it to skip building lines nobody reads, e.g. a job's debug line.
   */
  isEnabled?(level: LogLevel): boolean;
}

/** pyres' `-l` names (critical, warning) are accepted too. */
export function parseLogLevel(s: string): LogLevel | null {
  const v = s.trim().toLowerCase();
  if (v === 'warning') return 'warn';
  if (v === 'critical' || v === 'fatal') return 'error';
  return v in ORDER ? (v as LogLevel) : null;
}

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  /**
   * Append to this file instead of writing to stderr (pyres' `-f`). pyres_worker's names are
   * not files: `stdout` / `/dev/stdout` log to stdout, `stderr` / `/dev/stderr` to stderr, and
   * `syslog` / `/dev/log` to stderr with a note (Node has no syslog client). A file is written
   * asynchronously (never blocking the event loop) and reopened by its path for each batch, so
   * logrotate's rename is followed; a file that cannot be written is reported once on stderr and
   * the log goes to stderr until it can be again (see FileSink).
   */
  file?: string;
  scope?: string;
  /**
   * 'text' (the default): `time LEVEL [scope] message` lines. 'json': one object per line
   * (time, level, pid, scope, worker_id, job_class, queue, duration_ms, message), written to
   * stderr/stdout asynchronously (never blocking the event loop).
   */
  format?: LogFormat;
  /** Where lines go; defaults to stderr or `file`. */
  write?: (line: string) => void;
}

/** Where `-f` sends the log. */
export type LogTarget = { kind: 'stderr' } | { kind: 'stdout' } | { kind: 'syslog' } | { kind: 'file'; path: string };

const TARGET_NAMES: Record<string, 'stdout' | 'stderr' | 'syslog'> = {
  stdout: 'stdout',
  '/dev/stdout': 'stdout',
  stderr: 'stderr',
  '/dev/stderr': 'stderr',
  syslog: 'syslog',
  '/dev/log': 'syslog',
};

/** The target a `-f` / logFile value names (none: stderr). */
export function logTargetOf(file: string | null | undefined): LogTarget {
  if (!file) return { kind: 'stderr' };
  const kind = Object.hasOwn(TARGET_NAMES, file) ? TARGET_NAMES[file] : undefined;
  return kind ? { kind } : { kind: 'file', path: file };
}

/**
 * A `-f` value as the CLI passes it on: pyres_worker's names become the device paths
 * (absolute, as the configuration requires of a log file, and never a file in the cwd).
 */
export function logFileArg(v: string): string {
  if (v === 'stdout') return '/dev/stdout';
  if (v === 'stderr') return '/dev/stderr';
  if (v === 'syslog') return '/dev/log';
  return v;
}

/** Only a master's children carry this (src/config/child.ts); they leave start-up notes to the master. */
const CHILD_SPEC_ENV = 'PYRES_CHILD_SPEC';

function fileSink(path: string): FileSink {
  return sharedFileSink(resolve(path));
}

let stdoutLostReported = false;
let syslogNoted = false;

/** The line writer for a target (`io`: the real stdout/stderr unless a test gives its own). */
export function logSink(target: LogTarget, io: StdioPort = realStdio): (line: string) => void {
  switch (target.kind) {
    case 'file': {
      const s = fileSink(target.path);
      return line => s.write(line);
    }
    case 'stdout':
      return line => {
        if (io.write('stdout', line + '\n')) return;
        if (!stdoutLostReported) {
          stdoutLostReported = true;
          io.write('stderr', `pyres-ts ${process.pid}: cannot write the log to stdout (${errText(io.gone('stdout'))}); logging to stderr from now on\n`);
        }
        io.write('stderr', line + '\n');
      };
    case 'syslog':
      if (!syslogNoted && process.env[CHILD_SPEC_ENV] === undefined) {
        syslogNoted = true;
        io.write('stderr', `pyres-ts ${process.pid}: -f syslog: syslog is not supported (Node has no syslog client); logging to stderr\n`);
      }
      return line => void io.write('stderr', line + '\n');
    case 'stderr':
      return line => void io.write('stderr', line + '\n');
  }
}

/**
 * C0 controls (tab and newline included), DEL, C1 controls, and U+2028/U+2029 (line breaks to
 * JavaScript and some viewers). Class names, queue names, worker ids and error messages come
 * from payloads: left raw, `\n` starts a forged log line and ESC sequences rewrite a terminal.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A log line's text with every control character escaped (`\n` → `\\n`, ESC → `\\x1b`,
 * U+0085 → `\\x85`, U+2028 → `\\u2028`), so one message is always one line and shows as it is.
 * Backslashes are left as they are: a literal `\n` in a message reads the same as an escaped
 * newline, but neither can start a line.
 */
export function escapeLogText(s: string): string {
  if (!HAS_CONTROL.test(s)) return s;
  return s.replace(CONTROL, c => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

let writerFailureReported = false;

/**
 * Lines like `2026-11-23T12:00:00.123Z INFO  [scope] message`, control characters escaped
 * (escapeLogText: one message, one line). A failed write never throws.
 */
export function createLogger(o: ConsoleLoggerOptions = {}): Logger {
  if (o.format === 'json') return createJsonLogger(o);
  const min = ORDER[o.level ?? 'info'];
  const write = o.write ?? logSink(logTargetOf(o.file));
  const emit = (line: string): void => {
    try {
      write(line);
    } catch (e) {
      // A caller's `write` that throws: the work goes on, the line is lost.
      if (!writerFailureReported) {
        writerFailureReported = true;
        realStdio.write('stderr', `pyres-ts ${process.pid}: the log writer failed (${errText(e)}); its lines are dropped\n`);
      }
    }
  };
  const make = (scope: string | undefined): Logger => {
    const log = (lvl: LogLevel) => (msg: string) => {
      if (ORDER[lvl] < min) return;
      emit(escapeLogText(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`));
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (s: string) => make(scope ? `${scope} ${s}` : s),
      isEnabled: (lvl: LogLevel) => ORDER[lvl] >= min,
    };
  };
  return make(o.scope);
}

/** The JSON sink of a target: asynchronous for stderr/stdout, the FileSink for a file. */
function jsonSink(target: LogTarget): (line: string) => void {
  const { asyncStdSink } = jsonModule();
  if (target.kind === 'stdout') return asyncStdSink('stdout');
  if (target.kind === 'file') return logSink(target);
  if (target.kind === 'syslog') logSink(target); // its one note
  return asyncStdSink('stderr');
}

/** pino and its formatter, loaded by the first JSON logger only: a text-logging worker never pays for them (~15 ms, ~2 MB). */
function jsonModule(): typeof import('./json') {
  return require('./json') as typeof import('./json');
}

function createJsonLogger(o: ConsoleLoggerOptions): Logger {
  const { jsonBindings, jsonFormatter } = jsonModule();
  const write = o.write ?? jsonSink(logTargetOf(o.file));
  const safeWrite = (line: string): void => {
    try {
      write(line);
    } catch (e) {
      if (!writerFailureReported) {
        writerFailureReported = true;
        realStdio.write('stderr', `pyres-ts ${process.pid}: the log writer failed (${errText(e)}); its lines are dropped\n`);
      }
    }
  };
  const p = jsonFormatter(o.level ?? 'info', safeWrite);
  const make = (scope: string | undefined, fields: LogFields | undefined): Logger => {
    const bindings = jsonBindings(scope, fields);
    const log = (lvl: LogLevel) => (msg: string, f?: LogFields) => {
      if (!p.isLevelEnabled(lvl)) return;
      try {
        p[lvl](f ? { ...bindings, ...jsonBindings(undefined, f) } : bindings, msg);
      } catch {
        /* pino never throws on plain data; a line is never worth a crash */
      }
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (s: string, f?: LogFields) => make(scope ? `${scope} ${s}` : s, f || fields ? { ...fields, ...f } : undefined),
      isEnabled: (lvl: LogLevel) => p.isLevelEnabled(lvl),
    };
  };
  return make(o.scope, undefined);
}

/** Validates a `--log-format` value; null when it is not one. */
export function parseLogFormat(s: string): LogFormat | null {
  const v = s.trim().toLowerCase();
  return (LOG_FORMATS as readonly string[]).includes(v) ? (v as LogFormat) : null;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
  isEnabled: () => false,
};
