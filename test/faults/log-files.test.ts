/**
 * `-f FILE` written without blocking the event loop (issue 14): real `pyres-ts worker`
 * processes, a real redis-server.
 *
 *  - the log file is a FIFO nobody reads (a disk that stalls: every append blocks in libuv's
 *    thread pool): jobs are still worked (a synchronous append would hold the event loop
 *    forever), memory stays bounded (once stalled, lines past 2 MiB are dropped, said once on
 *    stderr and counted in the file once it moves), and TERM's last lines land after a reader
 *    shows up: every line whole, none twice, in order;
 *  - a job that ends its process at once (process.exit, an uncaught exception): every line it
 *    logged before is in the file (the exit flush).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BASIC_JOBS, masterTestEnv, waitFor } from '../master/helpers';
import { spawnCli } from '../support/spawn';

const env = masterTestEnv();
const Q = 'logq';
const LOG_JOBS = 'fixtures/jobs/logs.js';

/** Reads a FIFO without ever seeing EOF (it holds a write end too), so every append the worker makes is read. */
function readFifo(file: string): { text(): string; close(): void } {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const sock = new net.Socket({ fd, readable: true, writable: false });
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (buf += d));
  sock.on('error', () => undefined);
  return { text: () => buf, close: () => sock.destroy() };
}

describe('-f FILE is written off the event loop', () => {
  it('a log file that stalls (a FIFO nobody reads): jobs still run, the drops are bounded and counted, TERM flushes the rest whole', async () => {
    const fifo = path.join(env.tmp, 'pyres.log');
    execFileSync('mkfifo', [fifo]);
    const w = spawnCli(['worker', '--queues', Q, '-f', fifo, '--heartbeat-interval', '1', '--jobs', LOG_JOBS, '--jobs', BASIC_JOBS], env.spawnEnv());
    let reader: ReturnType<typeof readFifo> | null = null;
    try {
      // Its first log line already waits for the FIFO; it registers and works all the same.
      await waitFor(
        async () => (await env.workers()).length === 1,
        10000,
        () => `the worker to register; output: ${w.lines().join('\n')}`,
      );
      // The file counts as stalled once an append has been pending for LOG_FILE_STALL_MS (1 s):
      // three heartbeats (1 s apart, all after the first log line) say it has been.
      const id = (await env.workers())[0]!;
      const beats = new Set<string>();
      await waitFor(
        async () => {
          const b = await env.redis.hget('resque:workers:heartbeat', id);
          if (b) beats.add(b);
          return beats.size >= 3;
        },
        10000,
        () => `three heartbeats of ${id}; saw ${[...beats].join(', ')}`,
      );
      const N = 30000;
      await env.enqueue(Q, 'Chatty', 'stall', N, 100); // ~3 MB of lines: more than the 2 MiB queue
      await env.enqueue(Q, 'Echo', 'after-chatty');
      await env.waitForLedger(/^Chatty stall 30000$/, 15000);
      await env.waitForLedger(/^Echo \["after-chatty"\]$/, 10000);
      await w.waitForLine(/the log file \S+ is not keeping up \(\d+ bytes waiting\); dropping log lines until it does/, 5000);
      expect(w.exited).toBe(false);

      // A reader shows up: the blocked append completes, the queue drains, the drops are counted.
      reader = readFifo(fifo);
      const r = reader;
      await waitFor(
        () => /log lines dropped from/.test(r.text()),
        15000,
        () => `the drop note in the file; have ${r.text().length} bytes`,
      );
      w.kill('SIGTERM');
      expect(await w.waitForEnd(15000)).toEqual({ code: 0, signal: null });
      // The stop's lines came last, through the exit path, whole.
      await waitFor(
        () => /unregistered/.test(r.text()),
        5000,
        () => `the stop lines in the file; tail: ${r.text().slice(-500)}`,
      );
      const text = r.text();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.split('\n').slice(0, -1);
      for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR|DEBUG) /);
      const seen = lines.map(l => /chatty stall (\d+) x+$/.exec(l)).flatMap(m => (m ? [Number(m[1])] : []));
      const notes = lines.filter(l => /log lines? dropped from/.test(l));
      expect(notes).toHaveLength(1);
      const dropped = Number(/ (\d+) log lines? dropped/.exec(notes[0]!)![1]);
      expect(dropped).toBeGreaterThan(0);
      // None twice, in order, and every line is either in the file or counted as dropped.
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      expect(seen.length + dropped).toBe(N);
      // The queue's bound: what was kept while stalled fits 2 MiB (about 100 bytes per line).
      expect(seen.length * 100).toBeLessThan(2 * 1024 * 1024 + 100 * 100);
      // Stderr said it once; no line of the log went there.
      expect(w.stderr().match(/is not keeping up/g)).toHaveLength(1);
      expect(w.stderr()).not.toMatch(/chatty stall/);
      expect(lines.some(l => /Echo/.test(l))).toBe(true);
    } finally {
      reader?.close();
    }
  });

  it.each(['exit', 'throw'])('a job that ends its process at once (%s): every line it logged is in the file, once', async how => {
    const file = path.join(env.tmp, 'pyres.log');
    const w = spawnCli(['worker', '--queues', Q, '-f', file, '--jobs', LOG_JOBS], env.spawnEnv());
    await waitFor(
      async () => (await env.workers()).length === 1,
      10000,
      () => `the worker to register; output: ${w.lines().join('\n')}`,
    );
    const N = 5000;
    await env.enqueue(Q, 'LogAndDie', how, N, how);
    const end = await w.waitForEnd(15000);
    expect(end.code).not.toBe(0);
    expect(env.ledgerLines()).toContain(`LogAndDie ${how} ${N}`);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const seen = text
      .split('\n')
      .map(l => new RegExp(`dying ${how} (\\d+)$`).exec(l))
      .flatMap(m => (m ? [Number(m[1])] : []));
    expect(seen).toHaveLength(N);
    expect(new Set(seen).size).toBe(N);
    if (how === 'throw') expect(w.stderr()).toMatch(new RegExp(`Error: crash ${how}`));
  });
});
