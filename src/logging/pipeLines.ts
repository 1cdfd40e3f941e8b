/**
 * Whole lines into a pipe or socket that other processes write too: a master and its children
 * share one stderr (`--daemon`'s log keeper, a container's log pipe, systemd's journal stream,
 * `2>&1 | tee`). Node's stream for such an fd queues what its reader has not taken and writes the
 * queue with one writev; the kernel may take part of it, and another process's line lands in
 * the middle of one: `…[worker host:14031:rotq Chatty] chatty b 2230` became two broken lines
 * under load, and a JSON log a line no parser reads.
 *
 * A write of at most PIPE_BUF (4096) bytes to a pipe is atomic: all of it or EAGAIN. This writer
 * sends whole lines in writes of at most PIPE_BUF bytes each, synchronously while the pipe has
 * room (the fd is non-blocking: Node made it so when it opened the stream); on EAGAIN the rest
 * waits in order and is tried again on a short timer (1 ms, doubling to 50 ms). A line longer
 * than PIPE_BUF is written alone and may still be interleaved (nothing can make it atomic); a
 * stream socket may take part of a write too (journald's), less often. Memory is bounded: past
 * `maxQueuedBytes` new lines are dropped and counted, and a note says how many once the pipe
 * takes lines again. A write error other than EAGAIN (EPIPE: the reader is gone) ends the writer:
 * `onGone` is told, and the queue is dropped. Nothing here throws.
 */
import { writeSync } from 'node:fs';

/** The largest write a pipe takes atomically (Linux, POSIX's minimum is 512). */
export const PIPE_BUF = 4096;
/** The most bytes that wait for a full pipe (per stream and process) before lines are dropped. */
export const PIPE_QUEUE_MAX_BYTES = 8 * 1024 * 1024;
const RETRY_FIRST_MS = 1;
const RETRY_MAX_MS = 50;
/** The place of dropped lines in the queue (replaced by the note when the pipe reaches it). */
const NOTE = Buffer.alloc(0);

export interface PipeLineWriterOptions {
  fd: number;
  /** The stream is gone (its reader closed it): the error of the write that found out. */
  onGone: (e: Error) => void;
  maxQueuedBytes?: number;
  /** The note written once the pipe takes lines again after some were dropped. */
  droppedNote?: (count: number) => string;
  /** The raw write (fs.writeSync); a test may give one that refuses. */
  writeSync?: (fd: number, b: Buffer) => number;
}

/** Splits `b` into pieces that end at line ends, each at most PIPE_BUF bytes unless one line is longer. */
export function linePieces(b: Buffer, max = PIPE_BUF): Buffer[] {
  if (b.length <= max) return [b];
  const out: Buffer[] = [];
  let off = 0;
  while (b.length - off > max) {
    const nl = b.subarray(off, off + max).lastIndexOf(10);
    let end: number;
    if (nl >= 0) end = off + nl + 1;
    else {
      // One line longer than `max`: it goes alone, up to its own end.
      const next = b.indexOf(10, off + max);
      end = next < 0 ? b.length : next + 1;
    }
    out.push(b.subarray(off, end));
    off = end;
  }
  if (off < b.length) out.push(b.subarray(off));
  return out;
}

export class PipeLineWriter {
  private readonly fd: number;
  private readonly onGone: (e: Error) => void;
  private readonly maxQueued: number;
  private readonly droppedNote: (count: number) => string;
  private readonly rawWrite: (fd: number, b: Buffer) => number;
  private q: Buffer[] = [];
  /** Index of the first piece still to write in `q`, and how much of it is written already. */
  private qi = 0;
  private head = 0;
  private queued = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private delay = RETRY_FIRST_MS;
  private drainWaiters: Array<() => void> = [];
  gone: Error | null = null;

  constructor(o: PipeLineWriterOptions) {
    this.fd = o.fd;
    this.onGone = o.onGone;
    this.maxQueued = o.maxQueuedBytes ?? PIPE_QUEUE_MAX_BYTES;
    this.droppedNote = o.droppedNote ?? (n => `pyres-ts ${process.pid}: ${n} log line(s) dropped: the reader of this pipe did not take them in time\n`);
    this.rawWrite = o.writeSync ?? ((fd, b) => writeSync(fd, b));
  }

  /** Bytes waiting for the pipe. */
  get pending(): number {
    return this.queued;
  }

  /** Queues `text` (whole lines, each with its newline) and writes what the pipe takes now. False once the stream is gone. */
  write(text: string): boolean {
    if (this.gone) return false;
    if (text.length === 0) return true;
    const b = Buffer.from(text, 'utf8');
    if (this.queued + b.length > this.maxQueued) {
      // Dropped, counted; a note takes the dropped lines' place in the order.
      if (this.dropped++ === 0) this.q.push(NOTE);
      return true;
    }
    for (const p of linePieces(b)) this.q.push(p);
    this.queued += b.length;
    if (this.timer === null) this.flush();
    return this.gone === null;
  }

  /** Resolves once nothing waits (at once when nothing does, or the stream is gone). */
  drained(): Promise<void> {
    if (this.queued === 0 || this.gone) return Promise.resolve();
    return new Promise(r => this.drainWaiters.push(r));
  }

  /** On the way out ('exit'): writes what the pipe takes now, without waiting for it. */
  flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush(false);
  }

  private flush(retry = true): void {
    this.timer = null;
    while (this.qi < this.q.length) {
      if (this.q[this.qi] === NOTE) {
        // The pipe takes lines again: the dropped ones are said where they were.
        const note = Buffer.from(this.droppedNote(this.dropped), 'utf8');
        this.dropped = 0;
        this.q[this.qi] = note;
        this.queued += note.length;
      }
      if (!this.send(this.nextChunk(), retry)) return;
    }
    this.q = [];
    this.qi = 0;
    this.delay = RETRY_FIRST_MS;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  /** One write; true when it went (all or part of it), false when the flush must stop. */
  private send(chunk: Buffer, retry: boolean): boolean {
    let n: number;
    try {
      n = this.rawWrite(this.fd, chunk);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') {
        if (retry) this.retryLater();
        return false;
      }
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
    this.delay = RETRY_FIRST_MS;
    this.consume(n);
    return true;
  }

  /** Whole pieces up to PIPE_BUF bytes; the rest of a piece already partly written goes alone. */
  private nextChunk(): Buffer {
    const first = this.q[this.qi]!;
    if (this.head > 0) return first.subarray(this.head);
    if (first.length >= PIPE_BUF || this.qi + 1 >= this.q.length) return first;
    let total = first.length;
    let end = this.qi + 1;
    while (end < this.q.length && this.q[end] !== NOTE && total + this.q[end]!.length <= PIPE_BUF) total += this.q[end++]!.length;
    return end === this.qi + 1 ? first : Buffer.concat(this.q.slice(this.qi, end), total);
  }

  private consume(n: number): void {
    let left = n;
    this.queued -= n;
    while (left > 0 && this.qi < this.q.length) {
      const avail = this.q[this.qi]!.length - this.head;
      if (left >= avail) {
        left -= avail;
        this.head = 0;
        this.qi++;
      } else {
        this.head += left;
        left = 0;
      }
    }
    // Written pieces are let go of now and then, not one shift per write.
    if (this.qi > 1024 && this.qi * 2 > this.q.length) {
      this.q = this.q.slice(this.qi);
      this.qi = 0;
    }
  }

  private retryLater(): void {
    if (this.timer) return;
    const d = this.delay;
    this.delay = Math.min(RETRY_MAX_MS, this.delay * 2);
    this.timer = setTimeout(() => this.flush(), d);
  }

  private fail(e: Error): void {
    this.gone = e;
    this.q = [];
    this.qi = 0;
    this.head = 0;
    this.queued = 0;
    this.onGone(e);
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }
}
