import { escapeLogText, type LogFields, type Logger, type LogLevel } from './logger';

/** How many lines a master keeps for `pyres-ts ctl watch`, and how long each may be. */
export const LOG_RING_LINES = 50;
export const LOG_RING_LINE_CHARS = 300;

/**
 * A bounded ring of recent log lines (text form, `time LEVEL [scope] message`, control
 * characters escaped, each cut at `maxChars`): a master's log tail, which it publishes with its
 * advertisement for `pyres-ts ctl watch` (resque-pool-dynamic's `log.tail`).
 */
export class LogRing {
  private readonly buf: string[] = [];
  private pushed = 0;

  constructor(
    readonly size: number = LOG_RING_LINES,
    readonly maxChars: number = LOG_RING_LINE_CHARS,
  ) {}

  push(line: string): void {
    this.buf.push(line.length > this.maxChars ? `${line.slice(0, this.maxChars - 3)}...` : line);
    if (this.buf.length > this.size) this.buf.splice(0, this.buf.length - this.size);
    this.pushed += 1;
  }

  /** How many lines were ever pushed: a position for `since`. */
  get seq(): number {
    return this.pushed;
  }

  /**
   * The lines pushed after position `seq` (at most the ring's size: older ones are gone),
   * oldest first, and the position to ask from next time.
   */
  since(seq: number): { lines: string[]; seq: number } {
    const n = Math.min(Math.max(0, this.pushed - seq), this.buf.length);
    return { lines: n === 0 ? [] : this.buf.slice(this.buf.length - n), seq: this.pushed };
  }

  /** The lines, oldest first. */
  lines(): string[] {
    return [...this.buf];
  }
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * A logger that writes through `inner` and keeps each line at `level` or above in `ring` too
 * (info by default: the tail shows what an operator reads, not the debug chatter).
 */
export function withRing(inner: Logger, ring: LogRing, level: LogLevel = 'info', scope?: string): Logger {
  const log =
    (lvl: LogLevel) =>
    (msg: string, f?: LogFields): void => {
      if (ORDER[lvl] >= ORDER[level]) {
        ring.push(escapeLogText(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${msg}`));
      }
      inner[lvl](msg, f);
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (s: string, f?: LogFields) => withRing(inner.child(s, f), ring, level, scope ? `${scope} ${s}` : s),
    isEnabled: (lvl: LogLevel) => ORDER[lvl] >= ORDER[level] || (inner.isEnabled?.(lvl) ?? true),
  };
}
