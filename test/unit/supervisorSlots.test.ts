/**
 * The master's rules for children with job slots (`--concurrency`, issue 15), on the pure
 * Supervisor: jobs are tracked per slot, a job's timeout aborts (and names) that slot's job
 * only, and a dead child is recorded once per slot id, so every busy slot's job gets its
 * failure and no slot stays registered.
 */
import { type Action, Supervisor, type SupervisorConfig } from '../../src/master/supervisor';

function config(over: Partial<SupervisorConfig> = {}): SupervisorConfig {
  return {
    groups: [{ queues: 'p10,p9', count: 1, concurrency: { min: 3, max: 3 } }],
    termTimeout: 10,
    jobTimeout: null,
    timeoutGrace: 1,
    maxMemoryMb: null,
    autoscale: null,
    maxChildren: 100,
    winch: false,
    onDirtyExit: 'fail',
    ...over,
  };
}

const of = <T extends Action['type']>(acts: Action[], type: T): Array<Extract<Action, { type: T }>> =>
  acts.filter((a): a is Extract<Action, { type: T }> => a.type === type);

const ids = ['h:100:p10,p9', 'h+1:100:p10,p9', 'h+2:100:p10,p9'];

function oneChild(cfg = config()): Supervisor {
  const s = new Supervisor(cfg);
  expect(of(s.start(0), 'spawn')).toHaveLength(1);
  s.childSpawned('p10,p9', 100, ids[0]!, 0, ids);
  s.childMessage(100, { act: 'ready', workerId: ids[0]! }, 0);
  return s;
}

test("a dead child: one record per slot id, DirtyExit for each (the busy slots' jobs and the idle ones' registrations)", () => {
  const s = oneChild();
  s.childMessage(100, { act: 'job', seq: 1, queue: 'p9', className: 'A', timeout: null }, 10);
  s.childMessage(100, { act: 'job', seq: 1, queue: 'p9', className: 'B', timeout: null, slot: 2 }, 20);
  const recs = of(s.childExited(100, null, 'SIGKILL', 30), 'record');
  expect(recs.map(r => r.workerId)).toEqual(ids);
  expect(recs.every(r => r.exception === 'Resque::DirtyExit' && r.policy === 'fail' && /SIGKILL/.test(r.error))).toBe(true);
});

test('jobs are tracked per slot: an idle report for one slot leaves the others running; snapshot shows the oldest', () => {
  const s = oneChild();
  s.childMessage(100, { act: 'job', seq: 1, queue: 'p9', className: 'A', timeout: null }, 10);
  s.childMessage(100, { act: 'job', seq: 1, queue: 'p9', className: 'B', timeout: null, slot: 1 }, 20);
  s.childMessage(100, { act: 'idle', seq: 1, processed: 1 }, 30);
  const snap = s.snapshot(40);
  expect(snap.children[0]!.job?.className).toBe('B');
  s.childMessage(100, { act: 'idle', seq: 1, processed: 2, slot: 1 }, 50);
  expect(s.snapshot(60).children[0]!.job).toBeNull();
});

test("a job's own timeout aborts that slot's job by slot and seq; past the grace the kill records it as JobTimeoutError and the other busy slot as DirtyExit", () => {
  const s = oneChild();
  s.childMessage(100, { act: 'job', seq: 4, queue: 'p9', className: 'T', timeout: 1, slot: 1 }, 0);
  s.childMessage(100, { act: 'job', seq: 9, queue: 'p9', className: 'Long', timeout: null, slot: 2 }, 0);
  const abort = of(s.tick(1500), 'send').map(a => a.msg);
  expect(abort).toEqual([{ act: 'abort-job', seq: 4, kind: 'timeout', reason: 'Job exceeded its 1s timeout', slot: 1 }]);
  expect(of(s.tick(2000), 'signal')).toEqual([]);
  expect(of(s.tick(2600), 'signal')).toEqual([{ type: 'signal', pid: 100, signal: 'SIGKILL' }]);
  const recs = of(s.childExited(100, null, 'SIGKILL', 2700), 'record');
  expect(recs.map(r => [r.workerId, r.exception, r.policy])).toEqual([
    [ids[0], 'Resque::DirtyExit', 'fail'],
    [ids[1], 'JobTimeoutError', 'fail'],
    [ids[2], 'Resque::DirtyExit', 'fail'],
  ]);
  expect(recs[2]!.error).toMatch(/killed for another job slot: Job exceeded its 1s timeout/);
});

test('slot 0 of a child without slots: the abort carries no slot (the message a single worker always got)', () => {
  const s = new Supervisor(config({ groups: [{ queues: 'p10,p9', count: 1 }], jobTimeout: 1 }));
  s.start(0);
  s.childSpawned('p10,p9', 100, 'h:100:p10,p9', 0);
  s.childMessage(100, { act: 'ready', workerId: 'h:100:p10,p9' }, 0);
  s.childMessage(100, { act: 'job', seq: 1, queue: 'p9', className: 'A', timeout: null }, 0);
  expect(of(s.tick(1500), 'send').map(a => a.msg)).toEqual([{ act: 'abort-job', seq: 1, kind: 'timeout', reason: 'Job exceeded its 1s timeout' }]);
  expect(of(s.childExited(100, null, 'SIGKILL', 3000), 'record').map(r => r.workerId)).toEqual(['h:100:p10,p9']);
});

test('groupSpec gives the group its slots', () => {
  const s = oneChild();
  expect(s.groupSpec('p10,p9')?.concurrency).toEqual({ min: 3, max: 3 });
  expect(s.groupSpec('nope')).toBeUndefined();
});
