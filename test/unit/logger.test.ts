/**
 * The logger never throws into its caller: a log file that cannot be written is reported once
 * and stderr takes over (tried again later); a lost stdout/stderr drops lines; pyres_worker's
 * `-f` names are not files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { drainLogFiles, FileSink, createLogger, logFileArg, logSink, logTargetOf, parseLogLevel } from '../../src/logging/logger';
import { realStdio, type StdName, type StdioPort } from '../../src/logging/stdio';

/** A stand-in for stdout/stderr: records what was written; a stream can be marked gone. */
function fakeStdio(): StdioPort & { out: Record<StdName, string[]>; lost: Set<StdName> } {
  const out: Record<StdName, string[]> = { stdout: [], stderr: [] };
  const lost = new Set<StdName>();
  return {
    out,
    lost,
    write(which, text) {
      if (lost.has(which)) return false;
      out[which].push(text);
      return true;
    },
    gone: which => (lost.has(which) ? Object.assign(new Error(`write EPIPE`), { code: 'EPIPE' }) : null),
  };
}

let tmp = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-logger-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('FileSink (asynchronous appends)', () => {
  it('appends while the file can be written, after the call returns (the event loop is not held)', async () => {
    const io = fakeStdio();
    const file = path.join(tmp, 'a.log');
    const s = new FileSink(file, { stdio: io });
    s.write('one');
    s.write('two');
    // Nothing is written synchronously: the lines wait for libuv's thread pool.
    expect(s.pending).toBe(2);
    await s.drain();
    expect(fs.readFileSync(file, 'utf8')).toBe('one\ntwo\n');
    expect(io.out.stderr).toEqual([]);
    expect(s.healthy).toBe(true);
    expect(s.pending).toBe(0);
  });

  it('batches: one append in flight at a time, the lines in order, each batch opening the path (a rename is followed)', async () => {
    const io = fakeStdio();
    const file = path.join(tmp, 'a.log');
    const s = new FileSink(file, { stdio: io });
    for (let i = 0; i < 1000; i++) s.write(`line ${i}`);
    await s.drain();
    fs.renameSync(file, `${file}.1`);
    for (let i = 1000; i < 1010; i++) s.write(`line ${i}`);
    await s.drain();
    const old = fs.readFileSync(`${file}.1`, 'utf8').split('\n').slice(0, -1);
    const now = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
    expect(old).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
    expect(now).toEqual(Array.from({ length: 10 }, (_, i) => `line ${1000 + i}`));
  });

  it('directory removed: no throw, one note on stderr, the lines go to stderr', async () => {
    const io = fakeStdio();
    const dir = path.join(tmp, 'logs');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'a.log');
    const s = new FileSink(file, { stdio: io });
    s.write('before');
    await s.drain();
    fs.rmSync(dir, { recursive: true });
    expect(() => s.write('after 1')).not.toThrow();
    s.write('after 2');
    await s.drain();
    s.write('after 3');
    expect(s.healthy).toBe(false);
    const notes = io.out.stderr.filter(l => l.includes('cannot write the log file'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toBe(
      `pyres-ts ${process.pid}: cannot write the log file ${file} (ENOENT: no such file or directory, open '${file}'); logging to stderr from now on (trying the file again every 60 s)\n`,
    );
    expect(io.out.stderr.filter(l => !l.includes('cannot write'))).toEqual(['after 1\n', 'after 2\n', 'after 3\n']);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('EACCES / ENOSPC from the append: same fallback, the message names the error', async () => {
    const io = fakeStdio();
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const s = new FileSink('/x/y.log', { stdio: io, append: (_p, _t, done) => setImmediate(() => done(err)) });
    s.write('a');
    s.write('b');
    await s.drain();
    expect(io.out.stderr).toEqual([
      `pyres-ts ${process.pid}: cannot write the log file /x/y.log (ENOSPC: no space left on device, write); logging to stderr from now on (trying the file again every 60 s)\n`,
      'a\n',
      'b\n',
    ]);
  });

  it('an append that throws at once is a failed append too', async () => {
    const io = fakeStdio();
    const s = new FileSink('/x/y.log', {
      stdio: io,
      append: () => {
        throw new Error('EBADF');
      },
    });
    expect(() => s.write('a')).not.toThrow();
    await s.drain();
    expect(io.out.stderr.slice(1)).toEqual(['a\n']);
  });

  it('stderr gone as well: lines are dropped silently, nothing throws', async () => {
    const io = fakeStdio();
    io.lost.add('stderr');
    const s = new FileSink(path.join(tmp, 'nodir', 'a.log'), { stdio: io });
    expect(() => {
      s.write('a');
      s.write('b');
    }).not.toThrow();
    await s.drain();
    expect(io.out.stderr).toEqual([]);
    expect(io.out.stdout).toEqual([]);
  });

  it('tries the file again once per retry interval; when it works, notes the gap there and on stderr', async () => {
    const io = fakeStdio();
    let now = 1_000_000;
    let fail = true;
    const appended: string[] = [];
    let attempts = 0;
    const s = new FileSink('/var/log/p.log', {
      stdio: io,
      retryMs: 60_000,
      now: () => now,
      append: (_p, text, done) => {
        attempts += 1;
        setImmediate(() => {
          if (fail) done(new Error('EACCES: permission denied'));
          else {
            appended.push(text);
            done(null);
          }
        });
      },
    });
    s.write('l1');
    await s.drain();
    now += 30_000;
    s.write('l2'); // within the interval: not tried
    await s.drain();
    expect(attempts).toBe(1);
    now += 30_000;
    s.write('l3'); // tried, still failing: no second note
    await s.drain();
    expect(attempts).toBe(2);
    expect(io.out.stderr.filter(l => l.includes('cannot write'))).toHaveLength(1);
    now += 59_999;
    s.write('l4');
    await s.drain();
    expect(attempts).toBe(2);
    fail = false;
    now += 1;
    s.write('l5');
    await s.drain();
    expect(attempts).toBe(3);
    expect(s.healthy).toBe(true);
    expect(appended).toHaveLength(1);
    expect(appended[0]).toMatch(
      new RegExp(
        `^\\S+Z WARN  \\[pyres-ts ${process.pid}\\] the log lines from ${new Date(1_000_000).toISOString()} until now went to stderr: cannot write the log file /var/log/p.log \\(EACCES: permission denied\\)\\nl5\\n$`,
      ),
    );
    expect(io.out.stderr.filter(l => !l.startsWith('pyres-ts'))).toEqual(['l1\n', 'l2\n', 'l3\n', 'l4\n']);
    expect(io.out.stderr[io.out.stderr.length - 1]).toBe(
      `pyres-ts ${process.pid}: the log file /var/log/p.log can be written again; logging there from now on\n`,
    );
    s.write('l6');
    await s.drain();
    expect(appended[1]).toBe('l6\n');
  });

  it('an append that never returns (stalled disk): memory stays bounded, the drops are counted, said once on stderr and in the file after', async () => {
    const io = fakeStdio();
    const appended: string[] = [];
    let release: (() => void) | null = null;
    const s = new FileSink('/var/log/p.log', {
      stdio: io,
      maxQueuedBytes: 1000,
      hardMaxQueuedBytes: 5000,
      stallMs: 1000,
      append: (_p, text, done) => {
        if (appended.length === 0 && release === null) {
          // The first append hangs until released.
          release = () => (appended.push(text), done(null));
          return;
        }
        appended.push(text);
        setImmediate(() => done(null));
      },
    });
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      s.write('first'); // in flight, hanging
      // Pending for stallMs while the loop runs (its timer fires): the file is stalled.
      jest.advanceTimersByTime(1000);
    } finally {
      jest.useRealTimers();
    }
    const line = 'x'.repeat(99); // 100 bytes with its newline
    for (let i = 0; i < 50; i++) s.write(`${line}`);
    // 1000 bytes fit: 10 lines queued, 40 dropped.
    expect(s.pending).toBe(11);
    expect(s.droppedLines).toBe(40);
    expect(io.out.stderr.filter(l => l.includes('is not keeping up'))).toEqual([
      `pyres-ts ${process.pid}: the log file /var/log/p.log is not keeping up (1000 bytes waiting); dropping log lines until it does (their count goes in the file)\n`,
    ]);
    release!();
    await s.drain();
    const text = appended.join('');
    const lines = text.split('\n').slice(0, -1);
    expect(lines[0]).toBe('first');
    expect(lines.filter(l => l === line)).toHaveLength(10);
    const notes = lines.filter(l => l.includes('dropped'));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /WARN {2}\[pyres-ts \d+\] 40 log lines dropped from \S+ until now: the log file was not keeping up \(more than 1000 bytes waiting while stalled, or 5000 in all\)$/,
    );
    expect(s.droppedLines).toBe(0);
  });

  it('a synchronous burst (the loop never turns, so no append can return): kept past the stalled bound, up to the hard bound', () => {
    const io = fakeStdio();
    const s = new FileSink('/var/log/p.log', {
      stdio: io,
      maxQueuedBytes: 1000,
      hardMaxQueuedBytes: 5000,
      stallMs: 0,
      append: () => undefined,
    });
    s.write('first'); // in flight; its stall timer cannot fire while this test holds the loop
    const line = 'x'.repeat(99);
    for (let i = 0; i < 60; i++) s.write(line);
    // 5000 bytes: 50 kept, 10 dropped.
    expect(s.pending).toBe(51);
    expect(s.droppedLines).toBe(10);
  });

  it('exit: flushSync appends what is queued, synchronously; a batch already handed to the thread pool is left to it', () => {
    const io = fakeStdio();
    const sync: string[] = [];
    const s = new FileSink('/var/log/p.log', { stdio: io, append: (_p, _t, _done, writing) => writing?.(), appendSync: (_p, t) => void sync.push(t) });
    s.write('a'); // its write is with the thread pool (never returns here)
    s.write('b');
    s.write('c');
    s.flushSync();
    expect(sync).toEqual(['b\nc\n']);
    expect(s.pending).toBe(1);
    s.flushSync();
    expect(sync).toHaveLength(1);
  });

  it('exit: a batch whose stat/open is still pending is written by the flush, once', () => {
    const io = fakeStdio();
    const sync: string[] = [];
    let late: ((e: unknown) => void) | null = null;
    const s = new FileSink('/var/log/p.log', { stdio: io, append: (_p, _t, done) => void (late = done), appendSync: (_p, t) => void sync.push(t) });
    s.write('a');
    s.write('b');
    s.flushSync();
    expect(sync).toEqual(['a\nb\n']);
    // Its late completion changes nothing.
    late!(null);
    expect(s.pending).toBe(0);
    expect(io.out.stderr).toEqual([]);
  });

  it('exit flush that cannot write the file: its lines go to stderr', () => {
    const io = fakeStdio();
    const s = new FileSink('/var/log/p.log', {
      stdio: io,
      append: () => undefined,
      appendSync: () => {
        throw new Error('EIO');
      },
    });
    s.write('a');
    s.write('b');
    s.flushSync();
    expect(io.out.stderr).toEqual(['a\n', 'b\n']);
  });
});

describe('-f targets', () => {
  it("pyres_worker's names are not files", () => {
    expect(logTargetOf(undefined)).toEqual({ kind: 'stderr' });
    expect(logTargetOf(null)).toEqual({ kind: 'stderr' });
    expect(logTargetOf('stdout')).toEqual({ kind: 'stdout' });
    expect(logTargetOf('/dev/stdout')).toEqual({ kind: 'stdout' });
    expect(logTargetOf('stderr')).toEqual({ kind: 'stderr' });
    expect(logTargetOf('/dev/stderr')).toEqual({ kind: 'stderr' });
    expect(logTargetOf('syslog')).toEqual({ kind: 'syslog' });
    expect(logTargetOf('/dev/log')).toEqual({ kind: 'syslog' });
    expect(logTargetOf('/var/log/pyres.log')).toEqual({ kind: 'file', path: '/var/log/pyres.log' });
    expect(logTargetOf('toString')).toEqual({ kind: 'file', path: 'toString' });
    expect(logTargetOf('./stdout')).toEqual({ kind: 'file', path: './stdout' });
  });

  it('the CLI passes the names on as device paths (absolute, as the config requires)', () => {
    expect(logFileArg('stdout')).toBe('/dev/stdout');
    expect(logFileArg('stderr')).toBe('/dev/stderr');
    expect(logFileArg('syslog')).toBe('/dev/log');
    expect(logFileArg('pyres.log')).toBe('pyres.log');
    expect(logFileArg('./stdout')).toBe('./stdout');
  });

  it('stdout: lines go to stdout; once stdout is gone, one note and stderr', () => {
    const io = fakeStdio();
    const w = logSink({ kind: 'stdout' }, io);
    w('a');
    expect(io.out.stdout).toEqual(['a\n']);
    io.lost.add('stdout');
    w('b');
    w('c');
    expect(io.out.stderr).toEqual([`pyres-ts ${process.pid}: cannot write the log to stdout (write EPIPE); logging to stderr from now on\n`, 'b\n', 'c\n']);
  });

  it('stderr: lines go to stderr; once it is gone they are dropped', () => {
    const io = fakeStdio();
    const w = logSink({ kind: 'stderr' }, io);
    w('a');
    io.lost.add('stderr');
    expect(() => w('b')).not.toThrow();
    expect(io.out.stderr).toEqual(['a\n']);
    expect(io.out.stdout).toEqual([]);
  });

  it('syslog: stderr, with one note per process', () => {
    const io = fakeStdio();
    const w1 = logSink({ kind: 'syslog' }, io);
    const w2 = logSink({ kind: 'syslog' }, io);
    w1('a');
    w2('b');
    expect(io.out.stderr).toEqual([
      `pyres-ts ${process.pid}: -f syslog: syslog is not supported (Node has no syslog client); logging to stderr\n`,
      'a\n',
      'b\n',
    ]);
  });
});

describe('createLogger', () => {
  it('formats lines and filters by level', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', scope: 'w', write: l => lines.push(l) });
    log.debug('hidden');
    log.info('shown');
    log.child('c').warn('scoped');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\S+Z INFO  \[w\] shown$/);
    expect(lines[1]).toMatch(/^\S+ WARN  \[w c\] scoped$/);
  });

  it('a write function that throws never reaches the caller', () => {
    const log = createLogger({
      write: () => {
        throw new Error('EPIPE');
      },
    });
    const spy = jest.spyOn(realStdio, 'write').mockImplementation(() => true);
    try {
      expect(() => {
        log.info('a');
        log.error('b');
      }).not.toThrow();
      expect(spy.mock.calls.filter(c => c[0] === 'stderr' && c[1].includes('the log writer failed'))).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('file: loggers of one file in one process share one failure note', async () => {
    const dir = path.join(tmp, 'shared');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'x.log');
    const a = createLogger({ file });
    const b = createLogger({ file }).child('b');
    a.info('first');
    await drainLogFiles();
    expect(fs.readFileSync(file, 'utf8')).toMatch(/INFO  first\n$/);
    fs.rmSync(dir, { recursive: true });
    const spy = jest.spyOn(realStdio, 'write').mockImplementation(() => true);
    try {
      expect(() => {
        a.info('a after');
        b.info('b after');
      }).not.toThrow();
      await drainLogFiles();
      const written = spy.mock.calls.filter(c => c[0] === 'stderr').map(c => c[1]);
      expect(written.filter(s => s.includes(`cannot write the log file ${file}`))).toHaveLength(1);
      expect(written.filter(s => /INFO {2}(\[b\] )?[ab] after\n$/.test(s))).toHaveLength(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('parseLogLevel accepts pyres names', () => {
    expect(parseLogLevel('WARNING')).toBe('warn');
    expect(parseLogLevel('critical')).toBe('error');
    expect(parseLogLevel('nope')).toBeNull();
  });
});
