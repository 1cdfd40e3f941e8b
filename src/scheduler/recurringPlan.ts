import { CronExpressionParser } from 'cron-parser';
import type { CronInterval, EveryInterval, IntervalSpec } from '../protocol/schedule';

/**
 * When a recurring schedule fires: a pure calculator (no clock reads; every time is passed in,
 * epoch ms). Cron lines through `cron-parser` (v5, its `tz` option; 6 fields = seconds first,
 * as fugit), `every` with rufus' `first_in` / `first_at`.
 *
 * The rule (docs/SCHEDULE.md, "Missed ticks"): a schedule fires when its latest due time is
 * later than its last firing, read from `delayed:last_enqueued_at` (whole seconds, written by
 * Ruby or pyres-ts alike). Only the latest due time counts, so a scheduler that takes over
 * after the leader was gone for many periods fires a missed schedule once, not once per
 * missed period; and one that finds a firing already recorded for that time does not fire.
 * Due times are whole seconds (the resolution of last_enqueued_at).
 */

/** Why a cron line cannot be used, or null. `defaultTz` is the zone of lines without one. */
export function checkCron(i: CronInterval, defaultTz: string): string | null {
  try {
    const e = CronExpressionParser.parse(i.expr, { tz: i.tz ?? defaultTz, currentDate: new Date(0) });
    e.next();
    return null;
  } catch (err) {
    return `bad cron ${JSON.stringify(i.text)}: ${(err as Error).message}`;
  }
}

/** The latest time at or before `atMs` the line matches, or null (none, or a bad line). */
export function cronPrev(i: CronInterval, atMs: number, defaultTz: string): number | null {
  try {
    return CronExpressionParser.parse(i.expr, { tz: i.tz ?? defaultTz, currentDate: new Date(atMs + 1) })
      .prev()
      .getTime();
  } catch {
    return null;
  }
}

/** The earliest time after `afterMs` the line matches, or null. */
export function cronNext(i: CronInterval, afterMs: number, defaultTz: string): number | null {
  try {
    return CronExpressionParser.parse(i.expr, { tz: i.tz ?? defaultTz, currentDate: new Date(afterMs) })
      .next()
      .getTime();
  } catch {
    return null;
  }
}

/** What is known when deciding. */
export interface PlanInput {
  nowMs: number;
  /** The last firing (`delayed:last_enqueued_at`, whole seconds), or null when never (or unreadable). */
  lastRunMs: number | null;
  /** When this scheduler first saw the entry (while leading): the anchor of a never-fired `every` and of "new" for cron. */
  loadedAtMs: number;
  /**
   * `every` only: the next due time this scheduler computed when it fired last, valid only while
   * last_enqueued_at still holds what it wrote then (keeps the period exact instead of drifting
   * by the loop's lateness). null otherwise.
   */
  chainNextMs?: number | null;
  /** Zone of cron lines without one (the scheduler's zone). */
  defaultTz: string;
}

/** The decision: fire now or not, the due time it fires for, and the next due time after this one. */
export interface Plan {
  fire: boolean;
  /** The due time this decision is about (the one fired for when `fire`), or null when there is none. */
  dueMs: number | null;
  /** The next due time after now (after this firing when `fire`), or null when none. */
  nextMs: number | null;
}

const ceilSec = (ms: number): number => Math.ceil(ms / 1000) * 1000;

function everyDue(i: EveryInterval, s: PlanInput): number {
  if (s.chainNextMs !== undefined && s.chainNextMs !== null) return s.chainNextMs;
  if (s.lastRunMs !== null) return ceilSec(s.lastRunMs + i.periodMs);
  if (i.firstAtMs !== null) {
    // rufus refuses a first_at in the past; here it stays the phase: the first period boundary after loading.
    if (i.firstAtMs >= s.loadedAtMs) return ceilSec(i.firstAtMs);
    return ceilSec(i.firstAtMs + Math.ceil((s.loadedAtMs - i.firstAtMs) / i.periodMs) * i.periodMs);
  }
  return ceilSec(s.loadedAtMs + (i.firstInMs ?? i.periodMs));
}

/** Decides one schedule at `nowMs`. */
export function plan(i: IntervalSpec, s: PlanInput): Plan {
  if (i.kind === 'cron') {
    const due = cronPrev(i, s.nowMs, s.defaultTz);
    const since = s.lastRunMs ?? s.loadedAtMs - 1;
    const fire = due !== null && due > since;
    return { fire, dueMs: due, nextMs: cronNext(i, s.nowMs, s.defaultTz) };
  }
  const due = everyDue(i, s);
  if (s.nowMs < due) return { fire: false, dueMs: due, nextMs: due };
  // Fired once for the latest due time; the next one is the first period boundary after now.
  const period = Math.max(1000, i.periodMs);
  const steps = Math.floor((s.nowMs - due) / period) + 1;
  return { fire: true, dueMs: due, nextMs: ceilSec(due + steps * period) };
}

/** The next due time of a schedule for display (the Schedule page's "next run"), or null. */
export function nextRun(i: IntervalSpec, s: PlanInput): number | null {
  const p = plan(i, s);
  return p.fire ? s.nowMs : p.nextMs;
}
