/**
 * A command's output through a pipe arrives whole. stdout to a pipe is written asynchronously:
 * what the pipe (64 KB) cannot take yet waits in the process, and bin/pyres-ts's
 * process.exit() used to drop it: `pyres-ts failed list --json | jq` read the first 64 KB (an
 * unterminated JSON), with exit code 0. Real `bin/pyres-ts`, a real redis-server, real pipes.
 */
import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { BIN, PROJECT_ROOT, killAll, spawnCli } from '../support/spawn';
import { type RedisServerHandle, startRedis } from '../support/redisServer';

let server: RedisServerHandle;
let redis: Redis;
const RECORDS = 60;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  // 60 failure records of ~5 KB: ~300 KB of JSON, several pipes' worth.
  for (let i = 0; i < RECORDS; i++) {
    await redis.rpush(
      'resque:failed',
      JSON.stringify({
        failed_at: '2026/12/02 01:00:00 UTC',
        payload: { class: 'Big', args: [i, 'y'.repeat(5000)] },
        exception: 'RuntimeError',
        error: `boom ${i}`,
        backtrace: [],
        worker: 'host:1:q',
        queue: 'q',
      }),
    );
  }
});
afterEach(async () => {
  expect(await killAll()).toEqual([]);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('output through a pipe', () => {
  it('failed list --json: every record reaches the reader, exit 0', async () => {
    const p = spawnCli(['failed', 'list', '--json', '--count', String(RECORDS), '--redis', server.url]);
    expect(await p.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(p.stdout().length).toBeGreaterThan(5000 * RECORDS);
    const parsed: unknown = JSON.parse(p.stdout());
    expect(JSON.stringify(parsed)).toContain(`boom ${RECORDS - 1}`);
    expect(JSON.stringify(parsed).match(/"boom \d+"/g)).toHaveLength(RECORDS);
  });

  it('a reader that takes its time still gets everything', async () => {
    const child = spawn(process.execPath, [BIN, 'failed', 'list', '--json', '--count', String(RECORDS), '--redis', server.url], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    // Not read for the first 500 ms: the pipe fills and the rest waits in the writer.
    child.stdout.pause();
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    const resume = setTimeout(() => child.stdout.resume(), 500);
    const code = await new Promise<number | null>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no exit within 20 s')), 20000);
      child.on('close', c => (clearTimeout(t), resolve(c)));
    });
    clearTimeout(resume);
    expect(code).toBe(0);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(JSON.stringify(JSON.parse(text)).match(/"boom \d+"/g)).toHaveLength(RECORDS);
  });

  it("a long-running command's stop keeps its deadline when the reader of its log stalls: a worker whose stderr is never read exits within 1 s of its stop", async () => {
    const JOBS = 3000;
    await redis.sadd('resque:queues', 'stall');
    const noop = JSON.stringify({ class: 'Noop', args: [] });
    for (let i = 0; i < JOBS; i += 500) await redis.rpush('resque:queue:stall', ...Array.from({ length: 500 }, () => noop));
    const child = spawn(process.execPath, [BIN, 'worker', '--queues', 'stall', '--jobs', 'bench/jobs.js', '--log-level', 'debug', '--redis', server.url], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Never read: a line per job (~60 B) fills the 64 KB pipe, the rest waits in the worker.
    child.stderr.pause();
    try {
      const deadline = Date.now() + 30000;
      while (Number((await redis.get('resque:stat:processed')) ?? 0) < JOBS) {
        if (Date.now() > deadline) throw new Error('the worker did not process the jobs within 30 s');
        await new Promise(r => setTimeout(r, 50));
      }
      const exited = new Promise<number | null>(resolve => child.on('exit', c => resolve(c)));
      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>(r => setTimeout(() => r('hung'), 10000))]);
      expect(code).toBe(0);
      // An idle worker's stop is immediate; the wait for the stalled reader is 1 s at most.
      expect(Date.now() - t0).toBeLessThan(4000);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      child.stderr.resume();
      await new Promise(r => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.on('close', r)));
    }
  });

  it('a reader that closes the pipe early (`| head -c 100`): the command ends at once, exit 0, nothing on stderr', async () => {
    const sh = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" failed list --json --redis "${server.url}" | head -c 100 >/dev/null; echo "rc=$?" >&2`], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    sh.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the pipeline did not end within 20 s; stderr: ${err}`)), 20000);
      sh.on('close', () => (clearTimeout(t), resolve()));
    });
    expect(err).toBe('rc=0\n');
  });
});
