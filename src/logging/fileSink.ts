/**
 * A log file (`-f FILE`, both formats), written without blocking the event loop: lines are
 * queued and appended in batches by libuv's thread pool (one append in flight at a time, in
 * order). The file stays open (O_APPEND), and before each batch its path is checked (one stat):
 * a file that logrotate renamed or removed is reopened by its path (created if missing) at the
 * next batch, HUP or not, and a removed directory is seen at once, as the synchronous appends of
 * before saw it. The append itself is one write request to the thread pool, which libuv finishes
 * before the process ends, so a batch being written at exit is neither lost nor written twice.
 *
 * The fault rules are the synchronous sink's: a failed append never throws; it is reported
 * once on stderr, the lines of that batch and the next ones go to stderr (dropped if stderr is
 * gone too), and the file is tried again at most once per `retryMs`; when it works again a note
 * there says which stretch went to stderr. Memory is bounded: once an append has not returned
 * for `stallMs` while the event loop ran (a stalled disk, a FIFO nobody reads) at most `maxQueuedBytes` (2 MiB) wait, and
 * never more than `hardMaxQueuedBytes` (16 MiB: a job that logs faster than its event loop lets
 * the appends complete, in one synchronous burst); the lines past that are dropped and counted,
 * said once on stderr when it starts and in the file when it can be written again. What is queued at exit is appended synchronously on 'exit' (`process.exit()`,
 * an uncaught exception); `drainLogFiles()` lets an exit path wait for the queue first.
 */
import { appendFileSync, close, fstat, open, stat, write } from 'node:fs';
import { realStdio, type StdioPort } from './stdio';

/** How long a log file that failed is left alone before the next line tries it again. */
export const LOG_FILE_RETRY_MS = 60_000;
/** How many bytes of lines may wait for the file before lines are dropped (per file and process). */
export const LOG_FILE_QUEUE_BYTES = 2 * 1024 * 1024;
/** The most that ever waits, stalled or not (per file and process). */
export const LOG_FILE_QUEUE_MAX_BYTES = 16 * 1024 * 1024;
/** An append pending this long means the file is stalled (then LOG_FILE_QUEUE_BYTES applies). */
export const LOG_FILE_STALL_MS = 1000;
/** The most one append writes (a batch is cut after the line that crosses it). */
const BATCH_BYTES = 256 * 1024;

export function errText(e: unknown): string {
  // Not `instanceof Error`: errors from another realm (vm, jest) are objects with a message too.
  const m = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : String(e);
}

/**
 * Appends one batch: `writing()` is called once the bytes are handed to the thread pool (from
 * then on the batch is the pool's: the exit flush leaves it alone), `done` when it is written.
 */
export type BatchAppend = (path: string, text: string, done: (err: unknown) => void, writing: () => void) => void;

/**
 * The file, kept open and followed by its path: one stat per batch, a reopen when the path
 * names another file (renamed by logrotate) or none (removed), then one write.
 */
export class PathWriter {
  private fd: number | null = null;
  private ident: { dev: number; ino: number } | null = null;

  append: BatchAppend = (path, text, done, writing) => {
    this.current(path, (err, fd) => {
      if (err || fd === null) return done(err ?? new Error('no file'));
      const buf = Buffer.from(text, 'utf8');
      writing();
      const more = (off: number): void =>
        write(fd, buf, off, buf.length - off, null, (e, n) => {
          if (e) return done(e);
          if (off + n < buf.length) return more(off + n);
          done(null);
        });
      more(0);
    });
  };

  private current(path: string, cb: (err: unknown, fd: number | null) => void): void {
    stat(path, (e, st) => {
      if (!e && this.fd !== null && this.ident && st.dev === this.ident.dev && st.ino === this.ident.ino) return cb(null, this.fd);
      if (e && (e as NodeJS.ErrnoException).code !== 'ENOENT') return cb(e, null);
      this.reopen(path, cb);
    });
  }

  private reopen(path: string, cb: (err: unknown, fd: number | null) => void): void {
    open(path, 'a', 0o644, (e, fd) => {
      if (e) {
        this.drop();
        return cb(e, null);
      }
      fstat(fd, (e2, st) => {
        if (e2) {
          close(fd, () => undefined);
          return cb(e2, null);
        }
        this.drop();
        this.fd = fd;
        this.ident = { dev: st.dev, ino: st.ino };
        cb(null, fd);
      });
    });
  }

  private drop(): void {
    if (this.fd !== null) close(this.fd, () => undefined);
    this.fd = null;
    this.ident = null;
  }
}

export interface FileSinkOptions {
  retryMs?: number;
  /** Bytes of queued lines past which lines are dropped (counted). */
  maxQueuedBytes?: number;
  /** Bytes of queued lines past which lines are dropped even when the file is not stalled. */
  hardMaxQueuedBytes?: number;
  /** How long an append may be pending before the file counts as stalled. */
  stallMs?: number;
  stdio?: StdioPort;
  /** For tests: the asynchronous append (default a PathWriter's). */
  append?: (path: string, text: string, done: (err: unknown) => void, writing?: () => void) => void;
  /** For tests: the append of the exit flush (default fs.appendFileSync). */
  appendSync?: (path: string, text: string) => void;
  now?: () => number;
}

function stamp(now: number, msg: string): string {
  return `${new Date(now).toISOString()} WARN  [pyres-ts ${process.pid}] ${msg}\n`;
}

export class FileSink {
  private failed: { since: number; lastTry: number; error: string } | null = null;
  private readonly retryMs: number;
  private readonly maxQueued: number;
  private readonly hardMaxQueued: number;
  private readonly stallMs: number;
  /** The batch in flight has been pending for stallMs while the event loop ran (its timer fired). */
  private stalled = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private readonly io: StdioPort;
  private readonly appendAsync: BatchAppend;
  private readonly appendSync: (path: string, text: string) => void;
  private readonly now: () => number;
  /** Lines (each with its newline) waiting for the file. */
  private queue: string[] = [];
  /** Each queued line's size in bytes (UTF-8). */
  private sizes: number[] = [];
  private queuedBytes = 0;
  /** The batch being appended (its lines), or null. */
  private inFlight: string[] | null = null;
  /** Its bytes are with the thread pool (the exit flush must not write them again). */
  private handedOver = false;
  /** Lines dropped while the queue was full, not yet said in the file. */
  private dropped = 0;
  private droppedSince = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly path: string,
    o: FileSinkOptions = {},
  ) {
    this.retryMs = o.retryMs ?? LOG_FILE_RETRY_MS;
    this.maxQueued = o.maxQueuedBytes ?? LOG_FILE_QUEUE_BYTES;
    this.hardMaxQueued = Math.max(this.maxQueued, o.hardMaxQueuedBytes ?? LOG_FILE_QUEUE_MAX_BYTES);
    this.stallMs = o.stallMs ?? LOG_FILE_STALL_MS;
    this.io = o.stdio ?? realStdio;
    this.appendAsync = o.append ?? new PathWriter().append;
    this.appendSync = o.appendSync ?? ((p, text) => appendFileSync(p, text));
    this.now = o.now ?? Date.now;
  }

  /** Is the file the one being written (not the stderr fallback)? */
  get healthy(): boolean {
    return this.failed === null;
  }

  /** Lines queued or being appended. */
  get pending(): number {
    return this.queue.length + (this.inFlight?.length ?? 0);
  }

  /** Lines dropped (queue full) and not yet noted in the file. */
  get droppedLines(): number {
    return this.dropped;
  }

  write(line: string): void {
    const text = line + '\n';
    const f = this.failed;
    // The file failed and is not due for another try: stderr, at once (as before).
    if (f && this.queue.length === 0 && this.inFlight === null && this.now() - f.lastTry < this.retryMs) {
      this.io.write('stderr', text);
      return;
    }
    const size = Buffer.byteLength(text, 'utf8');
    if (this.queuedBytes + size > this.maxQueued && this.full(size)) {
      if (this.dropped === 0) {
        this.droppedSince = this.now();
        this.io.write(
          'stderr',
          `pyres-ts ${process.pid}: the log file ${this.path} is not keeping up (${this.queuedBytes} bytes waiting); dropping log lines until it does (their count goes in the file)\n`,
        );
      }
      this.dropped += 1;
      return;
    }
    this.queue.push(text);
    this.sizes.push(size);
    this.queuedBytes += size;
    this.pump();
  }

  /** Resolves once nothing is queued or being appended (or after `ms`). */
  drain(ms = 2000): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise(done => {
      const t = setTimeout(() => finish(), ms);
      t.unref?.();
      const finish = (): void => {
        clearTimeout(t);
        this.waiters = this.waiters.filter(w => w !== finish);
        done();
      };
      this.waiters.push(finish);
    });
  }

  /**
   * On exit: appends what is queued synchronously (a batch in flight is finished by libuv's
   * thread pool before the process ends, so it is neither lost nor written twice).
   */
  flushSync(): void {
    // A batch still on its way to the file (its stat or open pending) is written here too.
    const early = this.inFlight !== null && !this.handedOver ? this.inFlight : [];
    if (early.length > 0) this.inFlight = null;
    if (this.queue.length === 0 && this.dropped === 0 && early.length === 0) return;
    const lines = [...early, ...this.queue.splice(0)];
    this.sizes = [];
    this.queuedBytes = 0;
    const head = this.dropNote() + this.gapNote();
    try {
      this.appendSync(this.path, head + lines.join(''));
      this.failed = null;
    } catch {
      for (const l of lines) this.io.write('stderr', l);
    }
  }

  /** Past the soft bound: drop when the file is stalled (an append pending for stallMs), or past the hard bound. */
  private full(size: number): boolean {
    if (this.queuedBytes + size > this.hardMaxQueued) return true;
    return this.inFlight !== null && this.stalled;
  }

  private dropNote(): string {
    if (this.dropped === 0) return '';
    const n = this.dropped;
    this.dropped = 0;
    return stamp(
      this.now(),
      `${n} log line${n === 1 ? '' : 's'} dropped from ${new Date(this.droppedSince).toISOString()} until now: the log file was not keeping up (more than ${this.maxQueued} bytes waiting while stalled, or ${this.hardMaxQueued} in all)`,
    );
  }

  private gapNote(): string {
    const f = this.failed;
    return f ? stamp(this.now(), `the log lines from ${new Date(f.since).toISOString()} until now went to stderr: ${f.error}`) : '';
  }

  private pump(): void {
    if (this.inFlight !== null || this.queue.length === 0) {
      if (this.inFlight === null) this.wake();
      return;
    }
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && bytes < BATCH_BYTES) bytes += this.sizes[n++]!;
    const batch = this.queue.splice(0, n);
    this.sizes.splice(0, n);
    this.queuedBytes -= bytes;
    this.inFlight = batch;
    this.handedOver = false;
    const wasFailed = this.failed;
    const startedAt = this.now();
    // A timer, not a clock check: a job that logs in one long synchronous burst holds the loop
    // (so no append can complete) without the file being stalled; the timer fires only if the
    // loop turns and the append is still pending.
    this.stalled = false;
    this.stallTimer = setTimeout(() => {
      if (this.inFlight === batch) this.stalled = true;
    }, this.stallMs);
    this.stallTimer.unref?.();
    const head = this.gapNote();
    const dropped = this.dropped;
    const dropNote = this.dropNote();
    let called = false;
    const done = (err: unknown): void => {
      if (called) return;
      called = true;
      // flushSync took the batch meanwhile (at exit): nothing more to do.
      if (this.inFlight !== batch) return;
      this.inFlight = null;
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
      this.stalled = false;
      if (!err) {
        if (wasFailed) {
          this.failed = null;
          this.io.write('stderr', `pyres-ts ${process.pid}: the log file ${this.path} can be written again; logging there from now on\n`);
        }
      } else {
        // Never lost: the batch goes to stderr; the drop count is kept for the next note.
        this.dropped += dropped;
        if (this.failed) this.failed.lastTry = startedAt;
        else {
          const error = `cannot write the log file ${this.path} (${errText(err)})`;
          this.failed = { since: startedAt, lastTry: startedAt, error };
          const retry = this.retryMs >= 1000 ? `${Math.round(this.retryMs / 1000)} s` : `${this.retryMs} ms`;
          this.io.write('stderr', `pyres-ts ${process.pid}: ${error}; logging to stderr from now on (trying the file again every ${retry})\n`);
        }
        for (const l of batch) this.io.write('stderr', l);
        // What queued behind the failed batch goes to stderr too, in order, until the next try.
        const rest = this.queue.splice(0);
        this.sizes = [];
        this.queuedBytes = 0;
        for (const l of rest) this.io.write('stderr', l);
      }
      this.pump();
    };
    try {
      this.appendAsync(this.path, head + dropNote + batch.join(''), done, () => (this.handedOver = true));
    } catch (e) {
      done(e);
    }
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** One sink per file and process: the failure is reported once however many loggers share it. */
const sinks = new Map<string, FileSink>();
let exitHooked = false;

/** The process's sink for `key` (an absolute path), created on first use. */
export function sharedFileSink(key: string): FileSink {
  let s = sinks.get(key);
  if (!s) {
    sinks.set(key, (s = new FileSink(key)));
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const x of sinks.values()) {
          try {
            x.flushSync();
          } catch {
            /* nothing more to do at exit */
          }
        }
      });
    }
  }
  return s;
}

/**
 * Waits (at most `ms`) until every log file of this process has what was logged: for an exit
 * path (the CLI, a master's child) before `process.exit`, so the last lines are in order.
 */
export async function drainLogFiles(ms = 2000): Promise<void> {
  await Promise.all([...sinks.values()].map(s => s.drain(ms)));
}
