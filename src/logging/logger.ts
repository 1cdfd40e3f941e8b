import { appendFileSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A logger whose lines carry `scope`, e.g. the worker id. */
  child(scope: string): Logger;
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
  /** Append to this file instead of writing to stderr (pyres' `-f`). */
  file?: string;
  scope?: string;
  /** Where lines go; defaults to stderr or `file`. */
  write?: (line: string) => void;
}

/** Lines like `2026-11-23T12:00:00.123Z INFO  [scope] message`. */
export function createLogger(o: ConsoleLoggerOptions = {}): Logger {
  const min = ORDER[o.level ?? 'info'];
  const write =
    o.write ?? (o.file ? (line: string) => appendFileSync(o.file as string, line + '\n') : (line: string) => process.stderr.write(line + '\n'));
  const make = (scope: string | undefined): Logger => {
    const log = (lvl: LogLevel) => (msg: string) => {
      if (ORDER[lvl] < min) return;
      write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`);
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

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
