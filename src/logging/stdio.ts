/**
 * process.stdout / process.stderr that can be lost without taking the process down.
 *
 * A closed pipe (`| tee` that died, `| head`), an ssh drop or a hung-up terminal makes the next
 * write fail with EPIPE / EIO. Node reports that as an 'error' event on the stream; with no
 * listener it is an uncaught exception, and a worker dies between running a job and recording
 * it. `guardStdio()` adds a listener that only marks the stream as gone; `writeStdio()` writes
 * while the stream works and drops the text afterwards. Nothing here ever throws.
 *
 * A stdout/stderr that is a pipe or a socket is shared with other processes (a master's
 * children, the log keeper's pipe, a container's): `writeStdio()` writes it with whole lines
 * of at most PIPE_BUF bytes (pipeLines.ts), so no other process's line lands inside one.
 */

import { fstatSync } from 'node:fs';
import { PipeLineWriter } from './pipeLines';

export type StdName = 'stdout' | 'stderr';

const gone: Record<StdName, Error | null> = { stdout: null, stderr: null };
const guarded = new Set<StdName>();

/**
 * The whole-line writer of a stream that is a pipe or a socket (pipeLines.ts), null for a
 * terminal or a file (their writes are not torn by other processes' writes), undefined until
 * the fd was looked at. Only this process's own lines go through it (the loggers, notes);
 * `console.log` of job code goes through Node's stream.
 */
const pipeWriter: Record<StdName, PipeLineWriter | null | undefined> = { stdout: undefined, stderr: undefined };
let exitFlushHooked = false;

function pipeWriterFor(which: StdName): PipeLineWriter | null {
  const known = pipeWriter[which];
  if (known !== undefined) return known;
  let w: PipeLineWriter | null = null;
  try {
    const fd = which === 'stdout' ? 1 : 2;
    const st = fstatSync(fd);
    if (st.isFIFO() || st.isSocket()) {
      // Node's stream opens the fd and makes it non-blocking (a full pipe then says EAGAIN
      // instead of stopping the event loop): opened first, whether or not it is written.
      streamOf(which);
      w = new PipeLineWriter({ fd, onGone: e => (gone[which] ??= e) });
    }
  } catch {
    w = null;
  }
  pipeWriter[which] = w;
  if (w && !exitFlushHooked) {
    exitFlushHooked = true;
    process.on('exit', () => {
      for (const x of [pipeWriter.stdout, pipeWriter.stderr]) x?.flushNow();
    });
  }
  return w;
}

/** Whether this process's lines to stdout/stderr go through the whole-line pipe writer (a pipe or a socket). */
export function stdioIsPipe(which: StdName): boolean {
  return pipeWriterFor(which) !== null;
}

function streamOf(which: StdName): NodeJS.WriteStream {
  return which === 'stdout' ? process.stdout : process.stderr;
}

function describe(e: unknown): Error {
  return typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string' ? (e as Error) : new Error(String(e));
}

/**
 * Installs (once per process and stream) an 'error' listener on process.stdout and/or
 * process.stderr: a failed write marks the stream as gone instead of becoming an uncaught
 * exception. Other listeners are left alone. Idempotent.
 */
export function guardStdio(which: readonly StdName[] = ['stdout', 'stderr']): void {
  for (const w of which) {
    if (guarded.has(w)) continue;
    guarded.add(w);
    try {
      streamOf(w).on('error', (e: unknown) => {
        gone[w] ??= describe(e);
      });
    } catch {
      /* no such stream in this process */
    }
  }
}

/** Why the stream is gone (its first write error), or null while it works. */
export function stdioGone(which: StdName): Error | null {
  if (gone[which]) return gone[which];
  try {
    const s = streamOf(which);
    if (s.destroyed || s.writableEnded) gone[which] = new Error(`${which} is closed`);
  } catch (e) {
    gone[which] = describe(e);
  }
  return gone[which];
}

/**
 * Writes `text` to the stream unless it is gone; false when it was not written. Guards the
 * stream first, so a failure of this write cannot crash the process either.
 */
export function writeStdio(which: StdName, text: string): boolean {
  guardStdio([which]);
  if (stdioGone(which)) return false;
  const pipe = pipeWriterFor(which);
  if (pipe) return pipe.write(text);
  try {
    streamOf(which).write(text);
    return true;
  } catch (e) {
    gone[which] ??= describe(e);
    return false;
  }
}

/** What a log sink needs of stdout/stderr (the real streams, or a stand-in in tests). */
export interface StdioPort {
  write(which: StdName, text: string): boolean;
  gone(which: StdName): Error | null;
}

export const realStdio: StdioPort = { write: writeStdio, gone: stdioGone };

/**
 * Resolves once what was written to stdout and stderr has left the process. A pipe is written
 * asynchronously: what its reader has not taken yet (beyond the pipe's 64 KB) waits in this
 * process, and `process.exit()` drops it: `pyres-ts failed list --json | jq` got the first
 * 64 KB and an exit code of 0. Without `maxMs`, waits as long as the reader takes (as `cat`
 * would: a one-shot command's output is its result); with it, no longer (a worker's, a master's
 * or a child's exit keeps its deadline when the reader of its log stalls). At once for a stream
 * that is gone (its reader closed it: what is queued can never be written).
 */
export async function flushStdio(opts: { maxMs?: number } = {}, which: readonly StdName[] = ['stdout', 'stderr']): Promise<void> {
  const all = Promise.all(which.map(w => flushOne(w))).then(() => undefined);
  if (opts.maxMs === undefined) return all;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>(r => (t = setTimeout(r, opts.maxMs)))]);
  clearTimeout(t);
}

function flushOne(which: StdName): Promise<void> {
  const pipe = pipeWriter[which];
  return Promise.all([pipe ? pipe.drained() : undefined, flushStream(which)]).then(() => undefined);
}

function flushStream(which: StdName): Promise<void> {
  return new Promise<void>(done => {
    let s: NodeJS.WriteStream;
    try {
      s = streamOf(which);
    } catch {
      return done();
    }
    if (stdioGone(which) || s.writableLength === 0) return done();
    guardStdio([which]);
    // An empty write's callback runs after every write queued before it (or with the error that ended the stream).
    const onGone = (): void => done();
    s.once('close', onGone);
    try {
      s.write('', () => {
        s.off('close', onGone);
        done();
      });
    } catch {
      s.off('close', onGone);
      done();
    }
  });
}
