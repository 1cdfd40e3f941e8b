/**
 * The young-generation cap of a standalone worker (`--max-semi-space-mb`, src/cli/semiSpace.ts):
 * with many jobs in flight V8 grows its new space to Node's own limit (two semi-spaces of 16 MB
 * on Node 20) and keeps it; the worker holds it at the cap (default 8 MB per semi-space). The
 * uncapped run shows the jobs do grow it, so the capped run's figure means something.
 */
import { childPidsOf } from '../support/procs';
import { runCli, spawnCli, spawnTracked } from '../support/spawn';
import { k, processTestEnv, waitFor } from './helpers';

const env = processTestEnv();
const HEAP_JOBS = 'fixtures/jobs/heap.js';
const MB = 1024 * 1024;

/**
 * Runs 2000 Churn jobs on 20 slots (after `first`, a job run on its own), then reports the new
 * space's size in bytes. Each job keeps ~250 KB across a wait: small enough that the jobs one
 * turn of the event loop starts do not take the space two steps at once (src/cli/semiSpace.ts).
 */
async function newSpaceAfterChurn(extra: string[], nodeOptions?: string, first?: string): Promise<{ bytes: number; log: string }> {
  const proc = (await env.startWorker(['--concurrency', '20', ...extra], 'q', { jobs: [HEAP_JOBS], nodeOptions })).proc;
  // The liveness thread's start resets V8's flags until it is online (src/cli/semiSpace.ts):
  // the jobs come once its connection is open.
  const livenessConn = new RegExp(`\\bname=pyres-ts:worker:${proc.pid}:liveness\\b`);
  await waitFor(async () => livenessConn.test((await env.redis.call('CLIENT', 'LIST')) as string), 8000, "the liveness thread's connection");
  if (first) {
    await env.enqueue('q', first);
    await waitFor(async () => Number(await env.stat('processed')) >= 1, 10000, `${first} processed`);
  }
  const base = Number(await env.stat('processed'));
  const churn = JSON.stringify({ class: 'Churn', args: [5000] });
  await env.redis.rpush(k('queue:q'), ...Array.from({ length: 2000 }, () => churn));
  await waitFor(async () => Number(await env.stat('processed')) >= base + 2000, 30000, '2000 Churn jobs processed');
  const reports = (): string[] => env.ledgerLines().filter(l => /^new_space \d+$/.test(l));
  const before = reports().length;
  await env.enqueue('q', 'NewSpace');
  const line = (await waitFor(() => reports()[before], 10000, "this worker's new_space line")) as string;
  proc.kill('SIGQUIT');
  expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  return { bytes: Number(line.split(' ')[1]), log: proc.stderr() };
}

describe('pyres-ts worker --max-semi-space-mb', () => {
  it("holds V8's new space at 2 x 8 MB by default; with 0 the same jobs grow it past that", async () => {
    const free = await newSpaceAfterChurn(['--max-semi-space-mb', '0']);
    expect(free.log).toMatch(/young generation: V8's own sizing \(off/);
    expect(free.bytes).toBeGreaterThan(16 * MB);
    await env.redis.flushdb();
    const capped = await newSpaceAfterChurn([]);
    expect(capped.log).toMatch(/young generation: semi-spaces capped at 8 MB/);
    expect(capped.bytes).toBeLessThanOrEqual(16 * MB);
  });

  it('holds it when the jobs started in the turns before a gc entry arrives allocate past it: checked before each job (watchJobs)', async () => {
    const burst = async (mode: string): Promise<number> => {
      const p = spawnTracked(process.execPath, ['test/support/semiSpaceBurst.js', mode]);
      expect(await p.waitForEnd(20000)).toEqual({ code: 0, signal: null });
      return Number(p.stdout().trim());
    };
    // With its gc entries alone (they come turns late), 20 jobs a turn take it past the cap...
    expect(await burst('gc-only')).toBeGreaterThan(16 * MB);
    // ...checked before each job starts, it stops at the cap.
    expect(await burst('watch')).toBe(16 * MB);
  });

  it("holds it when a job starts a worker thread, then allocates without yielding (a new thread sets V8's growth factor back)", async () => {
    const r = await newSpaceAfterChurn([], undefined, 'SpawnThread');
    expect(r.log).toMatch(/done: SpawnThread/);
    expect(r.bytes).toBeLessThanOrEqual(16 * MB);
  });

  it("Node's own --max-semi-space-size in NODE_OPTIONS wins over the cap (and an explicit --max-semi-space-mb says so)", async () => {
    const r = await newSpaceAfterChurn(['--max-semi-space-mb', '64'], '--max-semi-space-size=2');
    expect(r.log).toMatch(/WARN .*--max-semi-space-mb 64 has no effect: Node's own --max-semi-space-size or --semi-space-growth-factor is given/);
    expect(r.bytes).toBeLessThanOrEqual(4 * MB);
  });

  it("master --max-semi-space-mb 4: its children run with Node's --max-semi-space-size=4 in place of the default 1", async () => {
    const master = spawnCli(['master', '--queues', 'q', '--pool', '2', '--jobs', HEAP_JOBS, '--max-semi-space-mb', '4'], env.spawnOpts());
    await waitFor(async () => (await env.redis.scard(k('workers'))) === 2, 15000, '2 registered children');
    expect(childPidsOf(master.pid)).toHaveLength(2);
    await env.enqueue('q', 'ExecArgv');
    await env.enqueue('q', 'ExecArgv');
    const lines = await waitFor(
      () => {
        const l = env.ledgerLines().filter(x => x.startsWith('execArgv '));
        return l.length === 2 ? l : null;
      },
      10000,
      'two execArgv lines',
    );
    for (const argv of lines.map(l => JSON.parse(l.slice('execArgv '.length)) as string[])) {
      expect(argv).toContain('--max-semi-space-size=4');
      expect(argv).not.toContain('--max-semi-space-size=1');
    }
    master.kill('SIGTERM');
    expect(await master.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it('a bad value, on the command line or in PYRES_MAX_SEMI_SPACE_MB, is a one-line error naming the flag (worker and master)', async () => {
    const runs: Array<[string[], Record<string, string>]> = [
      ...['-1', '1.5', 'abc', '257'].map((bad): [string[], Record<string, string>] => [
        ['worker', '--queues', 'q', '--jobs', HEAP_JOBS, '--max-semi-space-mb', bad],
        {},
      ]),
      [['worker', '--queues', 'q', '--jobs', HEAP_JOBS], { PYRES_MAX_SEMI_SPACE_MB: '8MB' }],
      [['master', '--queues', 'q', '--jobs', HEAP_JOBS], { PYRES_MAX_SEMI_SPACE_MB: '-4' }],
    ];
    for (const [args, extraEnv] of runs) {
      const p = await runCli(args, env.spawnOpts(extraEnv));
      expect(p.code).not.toBe(0);
      const lines = p.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/maxSemiSpaceMb \(--max-semi-space-mb\) must be a whole number of 0 or more and at most 256/);
    }
  });
});
