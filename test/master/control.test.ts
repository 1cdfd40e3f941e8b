/**
 * Live control of a running master from other processes, through Redis: `pyres-ts ctl`
 * (list, status, scale, pause, resume, stop), Pyres' Khan list (`resque:khans` +
 * `resque:khan:<host:pid:N>` commands ADD / REMOVE / SHUTDOWN), and --autoscale.
 */
import { HOST, childPidsOf, k, masterTestEnv, sleep, titleOf, waitFor } from './helpers';

const env = masterTestEnv();

interface InfoJson {
  id: string;
  pid: number;
  paused: boolean;
  groups: Array<{ queues: string; desired: number; min: number | null; max: number | null; running: number }>;
  children: Array<{ pid: number; workerId: string; group: string; job: unknown }>;
  autoscale: { last: string | null } | null;
}

async function statusJson(masterPid: number): Promise<InfoJson> {
  const r = await env.ctl(['status', String(masterPid), '--json']);
  expect(r.code).toBe(0);
  const all = JSON.parse(r.stdout) as InfoJson[];
  expect(all).toHaveLength(1);
  return all[0]!;
}

describe('pyres-ts ctl', () => {
  it('list, status --json, scale, pause, resume and stop a master from another process', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    const two = await env.waitForChildren(m.pid, 2);
    const id = `${HOST}:${m.pid}`;
    // The master advertises itself once a second.
    await waitFor(async () => (await env.redis.sismember(k('pyres-ts:masters'), id)) === 1, 3000, 'the master to advertise');

    const list = await env.ctl(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+children 2\\s+p10,p9=2`, 'm'));

    const scaled = await env.ctl(['scale', String(m.pid), 'p10,p9=4']);
    expect(scaled.code).toBe(0);
    expect(scaled.stdout).toContain(`sent {"cmd":"scale","queues":"p10,p9","count":4} to ${id}`);
    const four = await env.waitForChildren(m.pid, 4);
    expect(four).toEqual(expect.arrayContaining(two));

    // The advertisement (what ctl reads) catches up within a second or so.
    await waitFor(
      async () => {
        const raw = await env.redis.get(k(`pyres-ts:master:${id}`));
        return raw !== null && (JSON.parse(raw) as InfoJson).children.length === 4;
      },
      4000,
      'the advertisement to show 4 children',
    );
    const info = await statusJson(m.pid);
    expect(info.id).toBe(id);
    expect(info.pid).toBe(m.pid);
    expect(info.groups).toEqual([{ queues: 'p10,p9', desired: 4, min: null, max: null, running: 4, lastCrash: null }]);
    expect(info.children.map(c => c.pid).sort((a, b) => a - b)).toEqual(four);
    expect(info.children.map(c => c.workerId).sort()).toEqual(await env.workers());
    const tree = await env.ctl(['status', id]);
    expect(tree.stdout).toContain(`${id}  pyres-ts`);
    for (const p of four) expect(tree.stdout).toContain(String(p));

    // pause / resume
    expect((await env.ctl(['pause', String(m.pid)])).code).toBe(0);
    await waitFor(() => four.every(p => /: Paused/.test(titleOf(p))), 4000, 'children to pause');
    await env.enqueue('p9', 'Echo', 'held');
    await sleep(1500);
    expect(await env.redis.llen(k('queue:p9'))).toBe(1);
    expect(JSON.parse((await env.redis.get(k(`pyres-ts:master:${id}`)))!).paused).toBe(true);
    expect((await env.ctl(['resume', String(m.pid)])).code).toBe(0);
    await env.waitForLedger(/^Echo \["held"\]$/, 4000);

    // A master that is not there.
    const none = await env.ctl(['stop', '999999999']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no master matches/);

    // stop
    expect((await env.ctl(['stop', String(m.pid)])).code).toBe(0);
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    await env.waitGone(four, 2000);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
    expect((await env.ctl(['list'])).stdout.trim()).toBe('no masters');
  }, 60000);
});

describe('Pyres Khan list', () => {
  it('the master is in resque:khans as host:pid:N; ADD, REMOVE and SHUTDOWN pushed to resque:khan:<id> work', async () => {
    const m = await env.startMaster(['--queues', 'p10,p9', '--pool', '2']);
    await env.waitForChildren(m.pid, 2);
    const khan = (n: number): string => `${HOST}:${m.pid}:${n}`;
    await waitFor(async () => (await env.redis.sismember(k('khans'), khan(2))) === 1, 3000, `${khan(2)} in resque:khans`);

    await env.redis.rpush(k(`khan:${khan(2)}`), 'ADD');
    await env.waitForChildren(m.pid, 3, 5000);
    await waitFor(async () => JSON.stringify(await env.redis.smembers(k('khans'))) === JSON.stringify([khan(3)]), 3000, `khans renamed to ${khan(3)}`);
    expect(await env.redis.llen(k(`khan:${khan(2)}`))).toBe(0);

    await env.redis.rpush(k(`khan:${khan(3)}`), 'REMOVE');
    await env.waitForChildren(m.pid, 2, 5000);
    await waitFor(async () => JSON.stringify(await env.redis.smembers(k('khans'))) === JSON.stringify([khan(2)]), 3000, `khans renamed to ${khan(2)}`);

    await env.redis.rpush(k(`khan:${khan(2)}`), 'SHUTDOWN');
    expect(await m.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(m.stderr()).toMatch(/Khan command: SHUTDOWN/);
    expect(childPidsOf(m.pid)).toEqual([]);
    await env.expectNoWorkersLeft();
    await env.expectMasterWithdrawn(m.pid);
  });
});
