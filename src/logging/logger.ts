import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LogFields } from './json';
import { realStdio, type StdioPort } from './stdio';

export type { LogFields } from './json';

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
   * `syslog` / `/dev/log` to stderr with a note (Node has no syslog client). A file that cannot
   * be written is reported once on stderr and the log goes to stderr until it can be again.
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
/** How long a log file that failed is left alone before the next line tries it again. */
export const LOG_FILE_RETRY_MS = 60_000;

function errText(e: unknown): string {
  // Not `instanceof Error`: errors from another realm (vm, jest) are objects with a message too.
  const m = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : String(e);
}

export interface FileSinkOptions {
  retryMs?: number;
  stdio?: StdioPort;
  /** For tests. */
  append?: (path: string, text: string) => void;
  now?: () => number;
}

/**
 * Appends lines to a file. A failed append (its directory removed, disk full, EACCES) never
 * throws: it is reported once on stderr, that line and the next ones go to stderr (dropped if
 * stderr is gone too), and the file is tried again at most once per `retryMs`; when it works
 * again a note there says which stretch went to stderr.
 */
export class FileSink {
  private failed: { since: number; lastTry: number; error: string } | null = null;
  private readonly retryMs: number;
  private readonly io: StdioPort;
  private readonly append: (path: string, text: string) => void;
  private readonly now: () => number;

  constructor(
    readonly path: string,
    o: FileSinkOptions = {},
  ) {
    this.retryMs = o.retryMs ?? LOG_FILE_RETRY_MS;
    this.io = o.stdio ?? realStdio;
    this.append = o.append ?? ((p, text) => appendFileSync(p, text));
    this.now = o.now ?? Date.now;
  }

  /** Is the file the one being written (not the stderr fallback)? */
  get healthy(): boolean {
    return this.failed === null;
  }

  write(line: string): void {
    const now = this.now();
    const f = this.failed;
    if (!f || now - f.lastTry >= this.retryMs) {
      try {
        const gap = f
          ? `${new Date(now).toISOString()} WARN  [pyres-ts ${process.pid}] the log lines from ${new Date(f.since).toISOString()} until now went to stderr: ${f.error}\n`
          : '';
        this.append(this.path, gap + line + '\n');
        if (f) {
          this.failed = null;
          this.io.write('stderr', `pyres-ts ${process.pid}: the log file ${this.path} can be written again; logging there from now on\n`);
        }
        return;
      } catch (e) {
        if (f) f.lastTry = now;
        else {
          const error = `cannot write the log file ${this.path} (${errText(e)})`;
          this.failed = { since: now, lastTry: now, error };
          const retry = this.retryMs >= 1000 ? `${Math.round(this.retryMs / 1000)} s` : `${this.retryMs} ms`;
          this.io.write('stderr', `pyres-ts ${process.pid}: ${error}; logging to stderr from now on (trying the file again every ${retry})\n`);
        }
      }
    }
    this.io.write('stderr', line + '\n');
  }
}

/** One sink per file and process: the failure is reported once however many loggers share it. */
const fileSinks = new Map<string, FileSink>();

function fileSink(path: string): FileSink {
  const key = resolve(path);
  let s = fileSinks.get(key);
  if (!s) fileSinks.set(key, (s = new FileSink(key)));
  return s;
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
};
