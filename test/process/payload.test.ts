/**
 * What a job receives (issue 10 items 6 and 12), against real processes: the `enqueue` CLI
 * pushes args as typed; a pyres producer (Python, pyres' own encoder) pushes big integers, 1.0,
 * integer-like keys and an @D: date; a worker with --lossless-args / --pyres-dates (or a job
 * with its own `lossless` / `pyresDates`) gets BigInt and Date, every job gets the raw texts,
 * and the default mode warns once per class; failure records and retries keep the bytes; a
 * real node-resque worker's Date#toString run_at shows in `pyres-ts status`.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { runCli, spawnCli, spawnTracked } from '../support/spawn';
import { k, processTestEnv, waitFor } from './helpers';

const env = processTestEnv();
const JOBS = 'fixtures/jobs/payload.js';
const PYRES_ENQUEUE = path.join(__dirname, 'fixtures', 'pyres_enqueue.py');
const NODE_RESQUE_WORKER = path.join(__dirname, 'fixtures', 'nodeResqueWorker.js');

/** Runs the pyres producer; returns the payload bytes it pushed. */
function pyresEnqueue(queue: string, cls: string): string {
  return execFileSync('python3', [PYRES_ENQUEUE, queue, cls], { env: { ...process.env, REDIS_URL: env.url }, encoding: 'utf8' }).trimEnd();
}

interface Seen {
  args: string;
  keys: Array<string[] | null>;
  raw: string;
  rawArgs: string;
  payload: string;
}

async function seen(cls: string, nth = 1): Promise<Seen> {
  const re = new RegExp(`^${cls} `);
  const line = await waitFor(() => env.ledgerLines().filter(x => re.test(x))[nth - 1], 8000, `${cls} #${nth} in the ledger`);
  return JSON.parse(line.slice(cls.length + 1)) as Seen;
}

const PYRES_PAYLOAD = '{"class": "MixedJob", "args": [9007199254740993, 1.0, {"a": 1, "2": "x"}, "@D:2026-01-02T03:04:05"]}';

describe('pyres-ts enqueue pushes the JSON text it was given', () => {
  it('big integers, 1.0 and key order as typed, whitespace dropped', async () => {
    const r = await runCli(['enqueue', 'q', 'MixedJob', '9007199254740993', '1.0', '{ "a": 1, "2": "x" }', '"@D:2026-01-02T03:04:05"'], env.spawnOpts());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const want = '{"class":"MixedJob","args":[9007199254740993,1.0,{"a":1,"2":"x"},"@D:2026-01-02T03:04:05"]}';
    expect(await env.redis.lrange(k('queue:q'), 0, -1)).toEqual([want]);
    expect(r.stdout).toBe(`enqueued ${want} to q\n`);
    expect(await env.redis.smembers(k('queues'))).toEqual(['q']);
  });

  it('bad JSON: one line naming the argument, exit 2, nothing pushed', async () => {
    const r = await runCli(['enqueue', 'q', 'MixedJob', '1', 'hello'], env.spawnOpts());
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/argument 2 \("hello"\) is not JSON/);
    expect(await env.redis.exists(k('queue:q'))).toBe(0);
  });
});

describe('what a job receives from a pyres producer', () => {
  it('the producer pushes pyres bytes (the case under test)', () => {
    expect(pyresEnqueue('q', 'MixedJob')).toBe(PYRES_PAYLOAD);
  });

  it('--lossless-args --pyres-dates: BigInt, 1.0 as 1, key order kept in rawArgs, @D: as a local Date; raw is the bytes pushed', async () => {
    const pushed = pyresEnqueue('q', 'MixedJob');
    const { proc } = await env.startWorker(['--lossless-args', '--pyres-dates', '--drain'], 'q', { jobs: [JOBS] });
    const s = await seen('MixedJob');
    expect(s.args).toBe('["9007199254740993n","number:1",{"2":"x","a":"number:1"},"Date(2026-01-02 03:04:05 local)"]');
    expect(s.raw).toBe(pushed);
    expect(s.rawArgs).toBe('[9007199254740993, 1.0, {"a": 1, "2": "x"}, "@D:2026-01-02T03:04:05"]');
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(proc.stderr()).not.toMatch(/arrive rounded/);
  });

  it('a master hands --lossless-args --pyres-dates to its children', async () => {
    const pushed = pyresEnqueue('q', 'MixedJob');
    const master = spawnCli(['master', '--queues', 'q', '--pool', '1', '--jobs', JOBS, '--lossless-args', '--pyres-dates'], env.spawnOpts());
    await master.waitForLine(/all children registered/, 10000);
    const s = await seen('MixedJob');
    expect(s.args).toBe('["9007199254740993n","number:1",{"2":"x","a":"number:1"},"Date(2026-01-02 03:04:05 local)"]');
    expect(s.raw).toBe(pushed);
    master.kill('SIGTERM');
    expect(await master.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it('a job with its own lossless/pyresDates gets them without worker flags', async () => {
    pyresEnqueue('q', 'LosslessJob');
    const { proc } = await env.startWorker(['--drain'], 'q', { jobs: [JOBS] });
    const s = await seen('LosslessJob');
    expect(s.args).toBe('["9007199254740993n","number:1",{"2":"x","a":"number:1"},"Date(2026-01-02 03:04:05 local)"]');
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });

  it('default: plain JSON.parse as before, raw texts in the context, and one warning per class naming the number', async () => {
    const pushed = pyresEnqueue('q', 'MixedJob');
    pyresEnqueue('q', 'MixedJob');
    const { proc } = await env.startWorker(['--drain'], 'q', { jobs: [JOBS] });
    const s = await seen('MixedJob', 2);
    expect(s.args).toBe('["number:9007199254740992","number:1",{"2":"x","a":"number:1"},"@D:2026-01-02T03:04:05"]');
    expect(s.raw).toBe(pushed);
    expect(s.rawArgs).toBe('[9007199254740993, 1.0, {"a": 1, "2": "x"}, "@D:2026-01-02T03:04:05"]');
    // Lines arrive in order: once the second job's "done" line is in, its warning would be too.
    const done = (): number => proc.lines().filter(l => /done: MixedJob from q/.test(l)).length;
    await waitFor(() => done() === 2, 8000, 'two done lines');
    const warnings = proc.lines().filter(l => /arrive rounded/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/MixedJob: args numbers 9007199254740993 do not fit a JS number/);
    expect(warnings[0]).toMatch(/--lossless-args/);
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
  });
});

describe('re-pushes keep the bytes', () => {
  it('a failure record embeds the pyres payload as received; failed retry pushes class+args with numbers and key order as written', async () => {
    const pushed = pyresEnqueue('q', 'FailMixed');
    const { proc } = await env.startWorker(['--drain'], 'q', { jobs: [JOBS] });
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    const [rec] = await env.failures();
    expect(rec).toContain(`"payload":${pushed},"exception":"Error"`);
    const r = await runCli(['failed', 'retry', '0'], env.spawnOpts());
    expect(r.code).toBe(0);
    // Ruby's Failure.requeue pushes {"class","args"}; the args tokens are the original ones.
    expect(await env.redis.lrange(k('queue:q'), 0, -1)).toEqual([
      '{"class":"FailMixed","args":[9007199254740993,1.0,{"a":1,"2":"x"},"@D:2026-01-02T03:04:05"]}',
    ]);
  });
});

describe('node-resque times in pyres-ts status', () => {
  it("a real node-resque worker's run_at (Date#toString, GMT+0700 WIB) shows as a time, not `since ?`", async () => {
    const nr = spawnTracked(process.execPath, [NODE_RESQUE_WORKER], env.spawnOpts({ TZ: 'Asia/Jakarta', REDIS_URL: env.url }));
    await nr.waitForLine(/node-resque worker .* started/, 8000);
    const before = Math.floor(Date.now() / 1000) * 1000;
    await env.push('nr', '{"class":"hold","queue":"nr","args":[]}');
    await env.waitForLedger(/hold start/, 8000);
    const after = Date.now();
    const ids = await env.redis.smembers(k('workers'));
    expect(ids).toHaveLength(1);
    const record = await env.redis.get(k(`worker:${ids[0]}`));
    expect(record).toMatch(/"run_at":"\w{3} \w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT\+0700 \(Western Indonesia Time\)"/);
    // node-resque's Lua (cjson) writes an empty args array as {}: the class still shows.
    expect(record).toContain('"args":{}');

    const js = await runCli(['status', '--json'], env.spawnOpts());
    expect(js.code).toBe(0);
    const w = (JSON.parse(js.stdout) as { workers: Array<{ job: { runAt: string | null; className: string } | null; started: string | null }> }).workers[0]!;
    expect(w.job?.className).toBe('hold');
    const runAt = Date.parse(w.job?.runAt ?? 'x');
    expect(runAt).toBeGreaterThanOrEqual(before);
    expect(runAt).toBeLessThanOrEqual(after);
    expect(w.started).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);

    const human = await runCli(['status'], env.spawnOpts());
    expect(human.stdout).toContain(`working on hold from nr since ${w.job!.runAt}`);
    expect(human.stdout).not.toContain('since ?');
    nr.kill('SIGKILL');
    await nr.waitForEnd(5000);
  });
});
