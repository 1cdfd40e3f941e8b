/**
 * Autoscaling of a WorkerPool's job slots (`--concurrency 1..64`) by event-loop utilisation,
 * as a pure decision: a sample in (the loop's utilisation since the last sample, how many slots
 * run and are idle, whether work is queued), a decision out. No clock, no I/O: slotPool.ts
 * samples `perf_hooks.performance.eventLoopUtilization()` and carries the decision out.
 *
 * Rules: grow while the loop has headroom (utilisation below `low`) and work is queued (every
 * slot is busy and slots got jobs on their last reserve); shrink when the loop saturates
 * (utilisation above `high`). A change needs `confirm` samples in a row that agree
 * (hysteresis) and at least `minIntervalMs` since the last change. Growth doubles towards the
 * ceiling (a few changes reach 50 slots); shrinking takes a quarter (at least one).
 */

/** Tunables of slot autoscaling. */
export interface SlotScaleConfig {
  /** Fewest slots. */
  min: number;
  /** Most slots. */
  max: number;
  /** Event-loop utilisation (0..1) below which slots are added when work is queued. @defaultValue 0.6 */
  low: number;
  /** Event-loop utilisation (0..1) above which slots are removed. @defaultValue 0.9 */
  high: number;
  /** Samples in a row that must agree before a change. @defaultValue 2 */
  confirm: number;
  /** Milliseconds between two changes at least. @defaultValue 2000 */
  minIntervalMs: number;
}

/** The defaults of everything but min and max. */
export const SLOT_SCALE_DEFAULTS: Omit<SlotScaleConfig, 'min' | 'max'> = { low: 0.6, high: 0.9, confirm: 2, minIntervalMs: 2000 };

/** One sample (monotonic milliseconds). */
export interface SlotScaleSample {
  now: number;
  /** Event-loop utilisation since the previous sample, 0..1. */
  utilization: number;
  /** Slots running now. */
  active: number;
  /** Of those, slots parked with every queue empty at their last reserve. */
  idle: number;
  /** Whether slots got jobs on their last reserves since the previous sample. */
  gotJobs: boolean;
}

/** What the decision remembers between samples. */
export interface SlotScaleState {
  trend: { dir: 'up' | 'down' | 'hold'; n: number };
  lastChangeAt: number | null;
}

/** The state before the first sample. */
export function initialSlotScaleState(): SlotScaleState {
  return { trend: { dir: 'hold', n: 0 }, lastChangeAt: null };
}

/** A decision: the slot count to run (`next === sample.active`: no change), why, and the new state. */
export interface SlotScaleDecision {
  next: number;
  why: string;
  state: SlotScaleState;
}

/** Decides on one sample. Pure. */
export function decideSlots(cfg: SlotScaleConfig, state: SlotScaleState, s: SlotScaleSample): SlotScaleDecision {
  const u = `utilisation ${(s.utilization * 100).toFixed(0)}%`;
  let dir: 'up' | 'down' | 'hold' = 'hold';
  let why = `${u}, holding`;
  if (s.active < cfg.min) {
    return { next: cfg.min, why: `below the minimum ${cfg.min}`, state: { trend: { dir: 'hold', n: 0 }, lastChangeAt: s.now } };
  }
  if (s.active > cfg.max) {
    return { next: cfg.max, why: `above the maximum ${cfg.max}`, state: { trend: { dir: 'hold', n: 0 }, lastChangeAt: s.now } };
  }
  if (s.utilization > cfg.high && s.active > cfg.min) {
    dir = 'down';
    why = `${u} is over ${(cfg.high * 100).toFixed(0)}%: the event loop saturates`;
  } else if (s.utilization < cfg.low && s.active < cfg.max && s.idle === 0 && s.gotJobs) {
    dir = 'up';
    why = `${u} is under ${(cfg.low * 100).toFixed(0)}% and work is queued (all ${s.active} slots busy)`;
  }
  const trend = dir === state.trend.dir ? { dir, n: state.trend.n + 1 } : { dir, n: 1 };
  const cooling = state.lastChangeAt !== null && s.now - state.lastChangeAt < cfg.minIntervalMs;
  if (dir === 'hold' || trend.n < cfg.confirm || cooling) {
    return {
      next: s.active,
      why: dir === 'hold' ? why : `${why}; waiting (${cooling ? 'too soon after the last change' : `${trend.n}/${cfg.confirm} samples`})`,
      state: { trend, lastChangeAt: state.lastChangeAt },
    };
  }
  const next = dir === 'up' ? Math.min(cfg.max, s.active * 2) : Math.max(cfg.min, s.active - Math.max(1, Math.floor(s.active / 4)));
  return { next, why, state: { trend: { dir: 'hold', n: 0 }, lastChangeAt: s.now } };
}
