import type { LogRing } from '../logging/ring';
import type { RedisStore } from '../store/redisStore';

/** How long a master's published log lines live without a refresh (a dead master's go with them). */
export const LOG_TAIL_TTL_SECONDS = 24 * 3600;
/** An idle master rewrites its whole tail (and its expiry) this often; otherwise it writes only new lines. */
export const LOG_TAIL_REFRESH_MS = 3600_000;

/**
 * A master's log tail for `pyres-ts ctl watch` on any host: its recent lines (the LogRing) in a
 * list of their own (`<ns>:pyres-ts:master:<id>:log`, the last LOG_RING_LINES), not in the
 * record it advertises every second. Each publish sends only the lines logged since the last
 * one, and nothing when there are none: an idle master writes nothing for its tail, save one
 * rewrite an hour (which also heals a list lost to a FLUSHALL). The first publish rewrites the
 * list too.
 */
export class TailPublisher {
  private seq = 0;
  private lastWrite = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ring: LogRing,
    private readonly store: Pick<RedisStore, 'appendMasterLog'>,
    private readonly id: string,
  ) {}

  /** Publishes what is new (`now`: a monotonic clock, ms); resolves with whether it wrote. */
  async publish(now: number): Promise<boolean> {
    const refresh = now - this.lastWrite >= LOG_TAIL_REFRESH_MS;
    const fresh = this.ring.since(this.seq);
    if (fresh.lines.length === 0 && !refresh) return false;
    const lines = refresh ? this.ring.lines() : fresh.lines;
    await this.store.appendMasterLog(this.id, lines, this.ring.size, LOG_TAIL_TTL_SECONDS, refresh);
    this.seq = fresh.seq;
    this.lastWrite = now;
    return true;
  }
}
