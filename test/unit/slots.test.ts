/**
 * Job slots (`--concurrency`, issue 15), the pure parts: the slot id format, the flag's
 * validation (worker, master groups, YAML), and the autoscale decision (events in, decision out).
 */
import { resolveWorkerConfig, resolveConcurrency } from '../../src/config/worker';
import { describeGroups, parsePoolYaml, parseWorkersSpec, validateGroups } from '../../src/config/groups';
import { formatSlotWorkerId, formatWorkerId, parseWorkerId, slotHostOf } from '../../src/protocol/workerId';
import { decideSlots, initialSlotScaleState, SLOT_SCALE_DEFAULTS, type SlotScaleConfig, type SlotScaleSample } from '../../src/worker/slotScale';

const JOBS = 'fixtures/jobs/basic.js';

describe('slot worker ids', () => {
  it('slot 0 is the ordinary id; slot i puts +i into the host field and keeps the real pid', () => {
    expect(formatSlotWorkerId('vm', 42, ['p10', 'p9'], 0)).toBe(formatWorkerId('vm', 42, ['p10', 'p9']));
    expect(formatSlotWorkerId('vm', 42, ['p10', 'p9'], 0)).toBe('vm:42:p10,p9');
    expect(formatSlotWorkerId('vm', 42, ['p10', 'p9'], 7)).toBe('vm+7:42:p10,p9');
    expect(formatSlotWorkerId('vm', 42, ['*', '!p1'], 63)).toBe('vm+63:42:*');
  });

  it('parses as Resque tools do: host, the real pid, the queues (split with limit 3)', () => {
    const id = formatSlotWorkerId('web-1.example', 4242, ['p10', 'p9'], 12);
    expect(parseWorkerId(id)).toEqual({ host: 'web-1.example+12', pid: 4242, queues: ['p10', 'p9'] });
    // Ruby's prune: `host, pid, queues = id.split(':')`; Worker.find: split(':', 3).
    expect(id.split(':')).toEqual(['web-1.example+12', '4242', 'p10,p9']);
    expect(slotHostOf('web-1.example+12')).toEqual({ host: 'web-1.example', slot: 12 });
    expect(slotHostOf('web-1.example')).toEqual({ host: 'web-1.example', slot: 0 });
  });

  it('slotHostOf reads only what formatSlotWorkerId writes', () => {
    for (const h of ['vm+0', 'vm+64', 'vm+01', 'vm+', 'vm+x', 'vm+100']) expect(slotHostOf(h)).toEqual({ host: h, slot: 0 });
  });

  it('refuses a slot out of range and a host with + in it', () => {
    expect(() => formatSlotWorkerId('vm', 1, ['q'], 64)).toThrow(/slot must be a whole number from 0 to 63/);
    expect(() => formatSlotWorkerId('vm', 1, ['q'], -1)).toThrow(/slot/);
    expect(() => formatSlotWorkerId('v+m', 1, ['q'], 1)).toThrow(/contains '\+'/);
  });
});

describe('--concurrency', () => {
  it('absent or 1: no concurrency in the config (exactly the single worker of before)', () => {
    expect(resolveWorkerConfig({ queues: 'q', jobs: JOBS }).concurrency).toBeUndefined();
    expect(resolveWorkerConfig({ queues: 'q', jobs: JOBS, concurrency: 1 }).concurrency).toBeUndefined();
    expect('concurrency' in resolveWorkerConfig({ queues: 'q', jobs: JOBS, concurrency: '1' })).toBe(false);
  });

  it('a number, a string, a range, an object', () => {
    expect(resolveWorkerConfig({ queues: 'q', jobs: JOBS, concurrency: 25 }).concurrency).toEqual({ min: 25, max: 25 });
    expect(resolveConcurrency('64')).toEqual({ min: 64, max: 64 });
    expect(resolveConcurrency('1..64')).toEqual({ min: 1, max: 64 });
    expect(resolveConcurrency({ min: 2, max: 8 })).toEqual({ min: 2, max: 8 });
  });

  it.each([[0], [65], [2.5], ['abc'], ['3..2'], ['0..4'], ['1..65'], [''], [null], [[4]]])('%p: a one-line error naming the flag', v => {
    let msg = '';
    try {
      resolveWorkerConfig({ queues: 'q', jobs: JOBS, concurrency: v as never });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^concurrency \(--concurrency\) /);
    expect(msg).not.toContain('\n');
  });

  it('master groups: p10,p9=2x25, ranges on either side, and the YAML form', () => {
    expect(parseWorkersSpec('p10,p9=2x25:p1=1')).toEqual([
      { queues: 'p10,p9', count: 2, concurrency: { min: 25, max: 25 } },
      { queues: 'p1', count: 1 },
    ]);
    expect(parseWorkersSpec('p10=1..4x1..64')).toEqual([{ queues: 'p10', count: 1, min: 1, max: 4, concurrency: { min: 1, max: 64 } }]);
    expect(parseWorkersSpec('p10=2x1')).toEqual([{ queues: 'p10', count: 2 }]);
    expect(parsePoolYaml('"p10,p9": {count: 2, concurrency: 25}\np1: 1\n', undefined)).toEqual([
      { queues: 'p10,p9', count: 2, concurrency: { min: 25, max: 25 } },
      { queues: 'p1', count: 1 },
    ]);
    expect(parsePoolYaml('"p10,p9": {concurrency: "1..64"}\n', undefined)).toEqual([{ queues: 'p10,p9', count: 1, concurrency: { min: 1, max: 64 } }]);
    expect(validateGroups([{ queues: 'p1', count: 3, concurrency: 10 }])).toEqual([{ queues: 'p1', count: 3, concurrency: { min: 10, max: 10 } }]);
    expect(describeGroups(parseWorkersSpec('p10,p9=2x25:p1=1..3x2..8'))).toBe('p10,p9=2x25:p1=1..3x2..8');
  });

  it('bad slots in a group: one line naming --workers and the group', () => {
    expect(() => parseWorkersSpec('p10,p9=2x0')).toThrow(/^--workers: "p10,p9": the job slots after 'x' must be whole numbers from 1 to 64, got "0"$/);
    expect(() => parseWorkersSpec('p10,p9=2xabc')).toThrow(/^--workers: "p10,p9": the job slots after 'x' must be a number/);
    expect(() => validateGroups([{ queues: 'p1', count: 1, concurrency: 99 }])).toThrow(
      /^groups\[0\]\.concurrency must be whole numbers from 1 to 64, got 99$/,
    );
  });
});

describe('slot autoscale decision', () => {
  const cfg: SlotScaleConfig = { ...SLOT_SCALE_DEFAULTS, min: 1, max: 64 };
  const sample = (o: Partial<SlotScaleSample>): SlotScaleSample => ({ now: 10_000, utilization: 0.1, active: 4, idle: 0, gotJobs: true, ...o });

  it('grows (doubling) after two agreeing samples while the loop has headroom and work is queued', () => {
    const a = decideSlots(cfg, initialSlotScaleState(), sample({ now: 10_000 }));
    expect(a.next).toBe(4);
    expect(a.why).toMatch(/1\/2 samples/);
    const b = decideSlots(cfg, a.state, sample({ now: 11_000 }));
    expect(b.next).toBe(8);
    expect(b.why).toMatch(/utilisation 10% is under 60% and work is queued \(all 4 slots busy\)/);
  });

  it('never past max; doubling is capped', () => {
    const a = decideSlots(cfg, initialSlotScaleState(), sample({ active: 40 }));
    expect(decideSlots(cfg, a.state, sample({ active: 40, now: 11_000 })).next).toBe(64);
    const c = decideSlots(cfg, initialSlotScaleState(), sample({ active: 64 }));
    expect(c.next).toBe(64);
    expect(c.state.trend.dir).toBe('hold');
  });

  it('holds when work is not queued or a slot is idle, or the loop is between the marks', () => {
    for (const o of [{ gotJobs: false }, { idle: 1 }, { utilization: 0.7 }]) {
      const a = decideSlots(cfg, initialSlotScaleState(), sample(o));
      const b = decideSlots(cfg, a.state, sample({ ...o, now: 11_000 }));
      expect(b.next).toBe(4);
    }
  });

  it('shrinks by a quarter (at least one) when the loop saturates, never below min', () => {
    const a = decideSlots(cfg, initialSlotScaleState(), sample({ utilization: 0.95, active: 20 }));
    const b = decideSlots(cfg, a.state, sample({ utilization: 0.95, active: 20, now: 11_000 }));
    expect(b.next).toBe(15);
    expect(b.why).toMatch(/over 90%: the event loop saturates/);
    const c = decideSlots(cfg, initialSlotScaleState(), sample({ utilization: 0.99, active: 1 }));
    expect(decideSlots(cfg, c.state, sample({ utilization: 0.99, active: 1, now: 11_000 })).next).toBe(1);
  });

  it('hysteresis: a flip resets the count; the minimum interval holds a second change back', () => {
    const a = decideSlots(cfg, initialSlotScaleState(), sample({}));
    const flip = decideSlots(cfg, a.state, sample({ utilization: 0.95, now: 11_000 }));
    expect(flip.next).toBe(4);
    expect(flip.state.trend).toEqual({ dir: 'down', n: 1 });
    const up1 = decideSlots(cfg, initialSlotScaleState(), sample({ now: 1000 }));
    const up2 = decideSlots(cfg, up1.state, sample({ now: 2000 }));
    expect(up2.next).toBe(8);
    const s3 = decideSlots(cfg, up2.state, sample({ active: 8, now: 2500 }));
    const s4 = decideSlots(cfg, s3.state, sample({ active: 8, now: 3000 }));
    expect(s4.next).toBe(8);
    expect(s4.why).toMatch(/too soon after the last change/);
    const s5 = decideSlots(cfg, s4.state, sample({ active: 8, now: 4100 }));
    expect(s5.next).toBe(16);
  });

  it('brings a count outside min..max back at once', () => {
    expect(decideSlots({ ...cfg, min: 4 }, initialSlotScaleState(), sample({ active: 2 })).next).toBe(4);
    expect(decideSlots({ ...cfg, max: 8 }, initialSlotScaleState(), sample({ active: 10 })).next).toBe(8);
  });
});
