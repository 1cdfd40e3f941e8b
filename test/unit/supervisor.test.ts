/**
 * The master's rules, on the pure Supervisor: no processes, no Redis, no clock. Each test feeds
 * events with explicit monotonic times and checks the actions that come back.
 */
import { type Action, BUSY_CPU_PERCENT, CRASH_WINDOW_MS, STALL_MS, Supervisor, type SupervisorConfig } from '../../src/master/supervisor';

const MB = 1048576;

function config(over: Partial<SupervisorConfig> = {}): SupervisorConfig {
  return {
    groups: [{ queues: 'p10,p9', count: 2 }],
    termTimeout: 10,
    jobTimeout: null,
    timeoutGrace: 5,
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

/** Starts a supervisor and spawns (and registers) its children with pids from 100 up. */
function started(cfg: SupervisorConfig, t = 0, ready = true): { s: Supervisor; pids: number[]; next: () => number } {
  const s = new Supervisor(cfg);
  let pid = 100;
  const pids: number[] = [];
  const spawnAll = (acts: Action[]): void => {
    for (const a of of(acts, 'spawn')) {
      const p = pid++;
      pids.push(p);
      spawnAll(s.childSpawned(a.group, p, `h:${p}:${a.group}`, t));
    }
  };
  spawnAll(s.start(t));
  if (ready) for (const p of pids) s.childMessage(p, { act: 'ready', workerId: `h:${p}:x` }, t);
  return { s, pids, next: () => pid++ };
}

describe('Supervisor: spawning and crash loops', () => {
  test('start forks each group to its size, once', () => {
    const s = new Supervisor(
      config({
        groups: [
          { queues: 'a', count: 2 },
          { queues: 'b', count: 1 },
        ],
      }),
    );
    const acts = s.start(0);
    expect(of(acts, 'spawn').map(a => a.group)).toEqual(['a', 'a', 'b']);
    // Forks under way count: another tick asks for no more.
    expect(of(s.tick(100), 'spawn')).toEqual([]);
  });

  test('a child dying before it registers backs off 1, 2, 4 s and the reason is kept', () => {
    const { s, pids } = started(config({ groups: [{ queues: 'q', count: 1 }] }), 0, false);
    s.childMessage(pids[0]!, { act: 'fatal', reason: '--jobs ./jobs.js: SyntaxError at /x/jobs.js:3' }, 10);
    let acts = s.childExited(pids[0]!, 1, null, 500);
    expect(of(acts, 'spawn')).toEqual([]);
    expect(of(acts, 'log').some(l => l.level === 'error' && /1 in a row.*respawning in 1s.*SyntaxError at \/x\/jobs.js:3/.test(l.msg))).toBe(true);
    expect(s.snapshot(600).groups[0]!.lastCrash).toEqual({ reason: '--jobs ./jobs.js: SyntaxError at /x/jobs.js:3', count: 1, secondsAgo: 0 });
    expect(of(s.tick(1400), 'spawn')).toEqual([]);
    acts = s.tick(1501);
    expect(of(acts, 'spawn')).toHaveLength(1);
    s.childSpawned('q', 200, 'h:200:q', 1501);
    acts = s.childExited(200, 1, null, 1600);
    expect(of(acts, 'log').some(l => /2 in a row.*respawning in 2s/.test(l.msg))).toBe(true);
    expect(of(s.tick(3599), 'spawn')).toEqual([]);
    expect(of(s.tick(3601), 'spawn')).toHaveLength(1);
    // Registering clears the crash loop.
    s.childSpawned('q', 201, 'h:201:q', 3601);
    s.childMessage(201, { act: 'ready', workerId: 'h:201:q' }, 3700);
    expect(s.snapshot(3700).groups[0]!.lastCrash).toBeNull();
  });

  test('a child that fails at start after more than 5 s (a slow --worker-init) still counts as a crash, with its reason', () => {
    const { s, pids } = started(config({ groups: [{ queues: 'q', count: 1 }] }), 0, false);
    s.childMessage(pids[0]!, { act: 'fatal', reason: '--worker-init ./init.js failed: db down' }, 6000);
    const acts = s.childExited(pids[0]!, 1, null, 6100);
    expect(of(acts, 'spawn')).toEqual([]);
    expect(s.snapshot(6100).groups[0]!.lastCrash).toMatchObject({ reason: '--worker-init ./init.js failed: db down', count: 1 });
  });

  test('a registered child that dies is replaced at once and its job recorded with the policy', () => {
    const { s, pids } = started(config({ onDirtyExit: 'requeue' }));
    s.childMessage(pids[0]!, { act: 'job', seq: 1, queue: 'p10', className: 'Slow', timeout: null }, 10);
    const acts = s.childExited(pids[0]!, null, 'SIGKILL', CRASH_WINDOW_MS + 10);
    expect(of(acts, 'record')).toEqual([
      {
        type: 'record',
        pid: pids[0],
        workerId: `h:${pids[0]}:x`,
        how: 'was killed by SIGKILL',
        exception: 'Resque::DirtyExit',
        error: `Child process received unhandled signal pid ${pids[0]} SIGKILL`,
        policy: 'requeue',
      },
    ]);
    expect(of(acts, 'spawn')).toHaveLength(1);
  });

  test('a child the master killed for a job timeout is replaced at once, however often and however young: no crash-loop backoff', () => {
    const { s, pids } = started(config({ groups: [{ queues: 'q', count: 1 }], jobTimeout: 0.5, timeoutGrace: 0.5 }));
    let pid = pids[0]!;
    for (let round = 0; round < 3; round++) {
      const t = round * 1200;
      s.childMessage(pid, { act: 'job', seq: 1, queue: 'q', className: 'Stubborn', timeout: null }, t);
      s.tick(t + 501);
      const kill = s.tick(t + 1002);
      expect(of(kill, 'signal')).toEqual([{ type: 'signal', pid, signal: 'SIGKILL' }]);
      expect(of(kill, 'spawn')).toHaveLength(1);
      const next = 500 + round;
      s.childSpawned('q', next, `h:${next}:q`, t + 1003);
      s.childMessage(next, { act: 'ready', workerId: `h:${next}:q` }, t + 1010);
      const exit = s.childExited(pid, null, 'SIGKILL', t + 1020);
      expect(of(exit, 'log').filter(l => /in a row|respawning in/.test(l.msg))).toEqual([]);
      expect(of(exit, 'record')[0]).toMatchObject({ exception: 'JobTimeoutError', policy: 'fail' });
      pid = next;
    }
  });

  test('a failed fork is logged and retried after 1 s, never fatal', () => {
    const s = new Supervisor(config({ groups: [{ queues: 'q', count: 1 }] }));
    expect(of(s.start(0), 'spawn')).toHaveLength(1);
    const acts = s.spawnFailed('q', 'spawn EAGAIN', 0);
    expect(of(acts, 'log')[0]!.msg).toMatch(/could not start a child for q \(spawn EAGAIN\); trying again in 1s/);
    expect(of(s.tick(500), 'spawn')).toEqual([]);
    expect(of(s.tick(1001), 'spawn')).toHaveLength(1);
  });

  test('all-ready is told once, when every desired child registered', () => {
    const s = new Supervisor(config());
    s.start(0);
    s.childSpawned('p10,p9', 1, 'h:1:p10,p9', 0);
    s.childSpawned('p10,p9', 2, 'h:2:p10,p9', 0);
    expect(of(s.childMessage(1, { act: 'ready', workerId: 'h:1:p10,p9' }, 5), 'all-ready')).toEqual([]);
    expect(of(s.childMessage(2, { act: 'ready', workerId: 'h:2:p10,p9' }, 6), 'all-ready')).toHaveLength(1);
  });
});

describe('Supervisor: job timeouts name their job', () => {
  test('over the timeout: abort-job with the seq and kind; after the grace: SIGKILL, recorded as JobTimeoutError (never requeued)', () => {
    const { s, pids } = started(config({ jobTimeout: 2, timeoutGrace: 1, onDirtyExit: 'requeue' }));
    const p = pids[0]!;
    s.childMessage(p, { act: 'job', seq: 7, queue: 'p10', className: 'Hang', timeout: null }, 1000);
    expect(of(s.tick(2900), 'send')).toEqual([]);
    const abort = of(s.tick(3001), 'send');
    expect(abort).toEqual([{ type: 'send', pid: p, msg: { act: 'abort-job', seq: 7, kind: 'timeout', reason: 'Job exceeded its 2s timeout' } }]);
    expect(of(s.tick(3250), 'send')).toEqual([]); // once
    expect(of(s.tick(3900), 'signal')).toEqual([]);
    const kill = s.tick(4002);
    expect(of(kill, 'signal')).toEqual([{ type: 'signal', pid: p, signal: 'SIGKILL' }]);
    expect(of(kill, 'spawn')).toHaveLength(1); // its replacement, at once
    s.childSpawned('p10,p9', 300, 'h:300:p10,p9', 4003);
    const acts = s.childExited(p, null, 'SIGKILL', 4010);
    expect(of(acts, 'record')[0]).toMatchObject({ exception: 'JobTimeoutError', policy: 'fail' });
    expect(of(acts, 'record')[0]!.error).toMatch(/exceeded its 2s timeout.*killed \(SIGKILL\) after a 1s grace/);
    expect(of(acts, 'spawn')).toEqual([]);
  });

  test("a job's own timeout wins over --job-timeout", () => {
    const { s, pids } = started(config({ jobTimeout: 100 }));
    s.childMessage(pids[0]!, { act: 'job', seq: 1, queue: 'p10', className: 'Quick', timeout: 1 }, 0);
    expect(of(s.tick(1001), 'send')[0]!.msg).toMatchObject({ act: 'abort-job', seq: 1, reason: 'Job exceeded its 1s timeout' });
  });

  test('an idle report for the job ends its clock; a later job starts a fresh one', () => {
    const { s, pids } = started(config({ jobTimeout: 2 }));
    const p = pids[0]!;
    s.childMessage(p, { act: 'job', seq: 1, queue: 'p10', className: 'A', timeout: null }, 0);
    s.childMessage(p, { act: 'idle', seq: 1, processed: 1 }, 1500);
    s.childMessage(p, { act: 'job', seq: 2, queue: 'p10', className: 'B', timeout: null }, 1600);
    expect(of(s.tick(2100), 'send')).toEqual([]);
    expect(of(s.tick(3700), 'send')[0]!.msg).toMatchObject({ seq: 2 });
  });

  test('after a stall (the master was SIGSTOPped) no job is aborted before the children are read again', () => {
    const { s, pids } = started(config({ jobTimeout: 1 }));
    const p = pids[0]!;
    s.tick(0);
    s.childMessage(p, { act: 'job', seq: 3, queue: 'p10', className: 'Healthy', timeout: null }, 100);
    // 15 s without a tick: the first tick after it only notes the stall.
    const acts = s.tick(15_100);
    expect(of(acts, 'send')).toEqual([]);
    expect(of(acts, 'log').some(l => /did not run for 15\.\ds/.test(l.msg))).toBe(true);
    // The queued idle report arrives; the next tick aborts nothing.
    s.childMessage(p, { act: 'idle', seq: 3, processed: 3 }, 15_110);
    expect(of(s.tick(15_350), 'send')).toEqual([]);
    expect(STALL_MS).toBeLessThan(15_000);
  });
});

describe('Supervisor: memory, read from /proc', () => {
  test('past twice --max-memory mid-job: killed, MemoryLimitError; over it while idle: recycled gracefully', () => {
    const { s, pids } = started(config({ maxMemoryMb: 100 }));
    const [a, b] = pids as [number, number];
    s.childMessage(a, { act: 'job', seq: 1, queue: 'p10', className: 'Hog', timeout: null }, 0);
    s.sample(a, 657 * MB, 100);
    s.sample(b, 150 * MB, 0);
    const acts = s.tick(1000);
    expect(of(acts, 'signal')).toEqual([{ type: 'signal', pid: a, signal: 'SIGKILL' }]);
    expect(of(acts, 'send')).toEqual([{ type: 'send', pid: b, msg: { act: 'stop', graceful: true, reason: 'recycle' } }]);
    // Both are replaced at once (neither counts as live any more), and not again at the exit.
    expect(of(acts, 'spawn')).toHaveLength(2);
    const exitA = s.childExited(a, null, 'SIGKILL', 1100);
    expect(of(exitA, 'spawn')).toEqual([]);
    expect(of(exitA, 'record')[0]).toMatchObject({ exception: 'MemoryLimitError', policy: 'fail' });
    expect(of(exitA, 'record')[0]!.error).toMatch(/RSS 657 MB went past twice --max-memory 100 MB/);
  });
});

describe('Supervisor: memory, the idle case', () => {
  test('an idle child past twice --max-memory (its job just ended) is recycled gracefully, not killed: its finished job is not recorded as a failure', () => {
    const { s, pids } = started(config({ maxMemoryMb: 100 }));
    const p = pids[0]!;
    s.childMessage(p, { act: 'job', seq: 1, queue: 'p10', className: 'Big', timeout: null }, 0);
    s.childMessage(p, { act: 'idle', seq: 1, processed: 1 }, 500);
    s.sample(p, 250 * MB, 0);
    const acts = s.tick(1000);
    expect(of(acts, 'signal')).toEqual([]);
    expect(of(acts, 'send')).toEqual([{ type: 'send', pid: p, msg: { act: 'stop', graceful: true, reason: 'recycle' } }]);
  });

  test('stalls in a row do not switch the limits off: the credit is given once, the next tick enforces', () => {
    const { s, pids } = started(config({ jobTimeout: 1 }));
    s.tick(0);
    s.childMessage(pids[0]!, { act: 'job', seq: 1, queue: 'p10', className: 'Hang', timeout: null }, 0);
    expect(of(s.tick(3000), 'send')).toEqual([]); // stall: credit
    expect(of(s.tick(6000), 'send')[0]!.msg).toMatchObject({ act: 'abort-job', seq: 1 }); // late again, but enforced
  });
});

describe('Supervisor: stopping', () => {
  test('stop sends stop to every child; at the deadline the rest are SIGKILLed; finished once all are gone', () => {
    const { s, pids } = started(config({ termTimeout: 3 }));
    const acts = s.stop(false, 'SIGTERM', 1000);
    expect(of(acts, 'send').map(a => a.msg)).toEqual([
      { act: 'stop', graceful: false, reason: 'SIGTERM' },
      { act: 'stop', graceful: false, reason: 'SIGTERM' },
    ]);
    expect(of(s.childExited(pids[0]!, 0, null, 1500), 'spawn')).toEqual([]);
    expect(of(s.tick(3999), 'signal')).toEqual([]);
    expect(of(s.tick(4000), 'signal')).toEqual([{ type: 'signal', pid: pids[1], signal: 'SIGKILL' }]);
    const end = s.childExited(pids[1]!, null, 'SIGKILL', 4010);
    expect(of(end, 'record')[0]).toMatchObject({ exception: 'Resque::DirtyExit' });
    expect(of(end, 'finished')).toHaveLength(1);
  });

  test('TERM after QUIT turns the graceful stop into an abort; the deadline stays', () => {
    const { s } = started(config({ termTimeout: 5 }));
    s.stop(true, 'SIGQUIT', 0);
    const acts = s.stop(false, 'SIGTERM', 2000);
    expect(of(acts, 'send').every(a => a.msg.act === 'stop' && a.msg.graceful === false)).toBe(true);
    expect(s.stopDeadline).toBe(5000);
    expect(s.stop(false, 'SIGTERM', 2500)).toEqual([]);
  });

  test('the deadline holds even when the master stalls while stopping', () => {
    const { s, pids } = started(config({ termTimeout: 2 }));
    s.tick(0);
    s.stop(false, 'SIGTERM', 0);
    expect(
      of(s.tick(9000), 'signal')
        .map(a => a.pid)
        .sort(),
    ).toEqual([...pids].sort());
  });
});

describe('Supervisor: control plane', () => {
  test('scale past --max-children is refused and logged; within it the group resizes, idle children go first', () => {
    const { s, pids } = started(config({ maxChildren: 4 }));
    const refused = s.scale('p10,p9', 5, 0);
    expect(of(refused, 'spawn')).toEqual([]);
    expect(of(refused, 'log')[0]!.msg).toMatch(/refused.*over --max-children 4/);
    expect(of(s.scale('new', 3, 0), 'log')[0]!.msg).toMatch(/refused/);
    expect(of(s.scale('p10,p9', 4, 0), 'spawn')).toHaveLength(2);
    s.childMessage(pids[0]!, { act: 'job', seq: 1, queue: 'p10', className: 'Busy', timeout: null }, 0);
    const down = s.scale('p10,p9', 1, 0);
    expect(of(down, 'send').map(a => a.pid)).toEqual([pids[1]]);
  });

  test('Khan ADD/REMOVE act on the first group; ADD past the ceiling is refused', () => {
    const { s } = started(config({ maxChildren: 3 }));
    expect(of(s.command({ cmd: 'add' }, 0), 'spawn')).toHaveLength(1);
    expect(of(s.command({ cmd: 'add' }, 0), 'log')[0]!.msg).toMatch(/refused/);
    expect(s.totalDesired()).toBe(3);
    s.command({ cmd: 'remove' }, 0);
    expect(s.totalDesired()).toBe(2);
  });

  test('WINCH is ignored unless configured; when honoured, HUP brings the groups back', () => {
    const plain = started(config()).s;
    expect(of(plain.winch(0), 'log')[0]!.msg).toMatch(/SIGWINCH ignored/);
    expect(plain.totalDesired()).toBe(2);

    const { s } = started(config({ winch: true }));
    const acts = s.winch(0);
    expect(of(acts, 'send')).toHaveLength(2);
    expect(s.totalDesired()).toBe(0);
    const back = s.reload(s.groupSpecs(), 10);
    expect(s.totalDesired()).toBe(2);
    expect(of(back, 'spawn')).toHaveLength(2);
  });

  test('HUP: changed groups resize, unchanged keep their children, missing ones go; a bad file changes nothing', () => {
    const { s } = started(
      config({
        groups: [
          { queues: 'a', count: 1 },
          { queues: 'b', count: 1 },
        ],
      }),
    );
    const acts = s.reload(
      [
        { queues: 'a', count: 1 },
        { queues: 'c', count: 2 },
      ],
      0,
    );
    expect(of(acts, 'spawn').map(a => a.group)).toEqual(['c', 'c']);
    expect(of(acts, 'send').length).toBe(1); // b's child
    expect(of(s.reload(new Error('not valid YAML'), 0), 'log')[0]!.msg).toMatch(/not reloaded: not valid YAML/);
  });

  test('pause reaches every child, and children forked later start paused', () => {
    const { s } = started(config());
    expect(of(s.command({ cmd: 'pause' }, 0), 'send')).toHaveLength(2);
    const spawn = of(s.scale('p10,p9', 3, 0), 'spawn');
    expect(spawn).toHaveLength(1);
    expect(of(s.childSpawned('p10,p9', 999, 'h:999:p10,p9', 0), 'send')).toEqual([{ type: 'send', pid: 999, msg: { act: 'pause' } }]);
  });

  test('ctl stop and ctl stop --graceful', () => {
    const a = started(config()).s;
    expect(of(a.command({ cmd: 'stop', graceful: true }, 0), 'send')[0]!.msg).toEqual({ act: 'stop', graceful: true, reason: 'ctl stop --graceful' });
    const b = started(config()).s;
    expect(of(b.command({ cmd: 'stop' }, 0), 'send')[0]!.msg).toMatchObject({ graceful: false });
  });
});

describe('Supervisor: autoscale', () => {
  const auto = (): SupervisorConfig => config({ groups: [{ queues: 'cpu', count: 1, min: 1, max: 4 }], autoscale: { maxCpu: 95, maxMem: 95, interval: 10 } });
  const sample = (depth: number, cpu = 10): { cpu: number; mem: number; depth: Map<string, number> } => ({ cpu, mem: 10, depth: new Map([['cpu', depth]]) });

  test('a child that burns CPU counts as busy though it reported no job; growth needs two samples in a row', () => {
    const { s, pids } = started(auto());
    s.sample(pids[0]!, 60 * MB, BUSY_CPU_PERCENT + 40);
    expect(of(s.autoscale(sample(50), 0), 'spawn')).toEqual([]);
    expect(of(s.autoscale(sample(50), 10_000), 'spawn')).toHaveLength(1);
    expect(s.totalDesired()).toBe(2);
  });

  test('no flapping: after a change the group holds for the cooldown, and one contrary sample does not shrink it', () => {
    const { s, pids } = started(auto());
    s.sample(pids[0]!, 0, 100);
    s.autoscale(sample(5), 0);
    s.autoscale(sample(5), 10_000);
    expect(s.totalDesired()).toBe(2);
    // The queue empties for one sample: hold (cooldown and a single sample).
    expect(of(s.autoscale(sample(0), 20_000), 'send')).toEqual([]);
    expect(s.totalDesired()).toBe(2);
    // Busy again: still 2, no 1 <-> 2 flip-flop.
    s.autoscale(sample(5), 30_000);
    expect(s.totalDesired()).toBe(2);
  });

  test('shrinks back to min when the queues are empty and children idle (two samples), and at once on the CPU cap trend', () => {
    const { s } = started({ ...auto(), groups: [{ queues: 'cpu', count: 3, min: 1, max: 4 }] });
    expect(s.totalDesired()).toBe(3);
    s.autoscale(sample(0), 0);
    const down = s.autoscale(sample(0), 10_000);
    expect(of(down, 'log').some(l => /autoscale cpu: 3 -> 2: queues are empty and children idle \(depth 0, busy 0\/3/.test(l.msg))).toBe(true);
    expect(of(down, 'send')).toHaveLength(1);
    s.autoscale(sample(0), 20_000); // cooling down
    s.autoscale(sample(0), 30_000);
    expect(s.totalDesired()).toBe(1);
    s.autoscale(sample(0), 40_000);
    s.autoscale(sample(0), 50_000);
    expect(s.totalDesired()).toBe(1); // never below min
    const hot = started({ ...auto(), groups: [{ queues: 'cpu', count: 2, min: 1, max: 4 }] }).s;
    hot.autoscale(sample(10, 99), 0);
    expect(of(hot.autoscale(sample(10, 99), 10_000), 'log').some(l => /2 -> 1: over the CPU cap/.test(l.msg))).toBe(true);
  });

  test('never past max, never below min, never past --max-children', () => {
    const { s, pids } = started({ ...auto(), maxChildren: 2 });
    for (const p of pids) s.sample(p, 0, 100);
    for (let i = 0; i < 10; i++) {
      s.autoscale(sample(100), i * 20_000);
      for (const c of s.live()) s.sample(c.pid, 0, 100);
    }
    expect(s.totalDesired()).toBe(2);
  });
});
