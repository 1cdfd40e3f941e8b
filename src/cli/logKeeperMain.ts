/**
 * The log keeper of `--daemon` (a process entry, started by `cli/daemon.ts`): the daemon's
 * stdout and stderr are pipes to this process, which appends what comes through them to the
 * `--stdout` / `--stderr` files. Node cannot dup2(2), so a process cannot point its own fd 1/2
 * at a new file; with the keeper owning the files, a reopen (logrotate's `postrotate kill -HUP`)
 * moves the daemon, its children and anything they started to the new files at once, with no
 * restart.
 *
 * fd 0: the daemon's stdout; fd 3: its stderr; fd 4: control (a `reopen` line per request; the
 * daemon sends one on its HUP). A SIGHUP to the keeper itself reopens too. Lines are written
 * whole: a reopen switches files between two lines (a line longer than 64 KiB is written in
 * pieces). A reopen that fails (the directory removed) keeps the current file, says so in it
 * and in the new file once a later reopen works, and never ends the process. It exits when
 * every writer is gone (the daemon and all its children), after the last bytes; TERM, INT and
 * QUIT are ignored, so a stop's last lines still land when a whole process group is signalled.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { LOG_KEEPER_SPEC_ENV } from './logKeeperSpec';
/** A partial line longer than this is written without waiting for its newline. */
const MAX_PARTIAL = 64 * 1024;

type Which = 'stdout' | 'stderr';

interface Target {
  path: string;
  fd: number;
  /** Bytes after the last newline, waiting for the rest of their line. */
  partial: Buffer;
  /** A failed reopen, said in the new file when one works. */
  failedSince: string | null;
  failedWhy: string;
  open: boolean;
}

function note(t: Target, msg: string): void {
  try {
    writeSync(t.fd, `${new Date().toISOString()} WARN  [pyres-ts log keeper ${process.pid}] ${msg}\n`);
  } catch {
    /* nowhere else to say it */
  }
}

function writeAll(t: Target, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(t.fd, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      // The disk refuses (ENOSPC, EIO): these bytes are lost, the next ones are tried again.
      return;
    }
  }
}

function take(t: Target, chunk: Buffer): void {
  const data = t.partial.length ? Buffer.concat([t.partial, chunk]) : chunk;
  const nl = data.lastIndexOf(10);
  if (nl < 0) {
    t.partial = data;
    if (t.partial.length > MAX_PARTIAL) {
      writeAll(t, t.partial);
      t.partial = Buffer.alloc(0);
    }
    return;
  }
  writeAll(t, data.subarray(0, nl + 1));
  t.partial = Buffer.from(data.subarray(nl + 1));
}

function reopen(t: Target): void {
  let fd: number;
  try {
    fd = openSync(t.path, 'a', 0o644);
  } catch (e) {
    const why = (e as Error).message;
    if (t.failedSince === null) {
      t.failedSince = new Date().toISOString();
      t.failedWhy = why;
    }
    note(t, `cannot reopen ${t.path} (${why}); still writing the file opened before`);
    return;
  }
  const old = t.fd;
  t.fd = fd;
  try {
    closeSync(old);
  } catch {
    /* already closed */
  }
  if (t.failedSince !== null) {
    note(t, `reopened ${t.path}; from ${t.failedSince} until now the lines went to the file opened before (${t.failedWhy})`);
    t.failedSince = null;
  }
}

function main(): void {
  const spec = JSON.parse(process.env[LOG_KEEPER_SPEC_ENV] ?? '{}') as Partial<Record<Which, string>>;
  delete process.env[LOG_KEEPER_SPEC_ENV];
  if (typeof spec.stdout !== 'string' || typeof spec.stderr !== 'string') process.exit(2);
  process.title = `pyres-ts log keeper (${spec.stdout}, ${spec.stderr})`;
  const targets: Record<Which, Target> = {
    stdout: { path: spec.stdout, fd: openSync(spec.stdout, 'a', 0o644), partial: Buffer.alloc(0), failedSince: null, failedWhy: '', open: true },
    stderr: { path: spec.stderr, fd: openSync(spec.stderr, 'a', 0o644), partial: Buffer.alloc(0), failedSince: null, failedWhy: '', open: true },
  };
  const reopenAll = (): void => {
    for (const t of Object.values(targets)) reopen(t);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.on(sig, () => undefined);
  process.on('SIGHUP', reopenAll);
  const finish = (which: Which): void => {
    const t = targets[which];
    if (!t.open) return;
    t.open = false;
    if (t.partial.length) writeAll(t, t.partial);
    t.partial = Buffer.alloc(0);
    if (!targets.stdout.open && !targets.stderr.open) process.exit(0);
  };
  const read = (fd: number, which: Which): void => {
    const s = new Socket({ fd, readable: true, writable: false });
    s.on('data', (c: Buffer) => take(targets[which], c));
    s.on('end', () => finish(which));
    s.on('close', () => finish(which));
    s.on('error', () => finish(which));
  };
  read(0, 'stdout');
  read(3, 'stderr');
  let control = '';
  const c = new Socket({ fd: 4, readable: true, writable: false });
  c.setEncoding('utf8');
  c.on('data', (d: string) => {
    control += d;
    let i: number;
    while ((i = control.indexOf('\n')) >= 0) {
      const cmd = control.slice(0, i).trim();
      control = control.slice(i + 1);
      if (cmd === 'reopen') reopenAll();
    }
    if (control.length > 1024) control = '';
  });
  c.on('error', () => undefined);
  // The control channel's end is not the end: the data pipes say when every writer is gone.
  c.unref();
}

main();
