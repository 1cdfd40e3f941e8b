import { lookup, lookupService } from 'node:dns/promises';
import { hostname } from 'node:os';
import { lockValue } from '../protocol/delayed';
import type { SchedulerStore } from '../store/schedulerStore';

/** resque-scheduler's LOCK_TIMEOUT default: 180 s. */
export const DEFAULT_LOCK_TIMEOUT = 180;

/**
 * The host part of the lock value as resque-scheduler computes it:
 * `Addrinfo.getaddrinfo(Socket.gethostname, 'http').first.getnameinfo.first`, the reverse-resolved
 * name of the host's first address (often `localhost` [captured s2]). Falls back to the plain
 * hostname when resolution fails; bounded to ~2 s.
 */
export async function lockHostname(): Promise<string> {
  const h = hostname();
  const resolve = async (): Promise<string> => {
    const { address } = await lookup(h);
    const { hostname: name } = await lookupService(address, 80);
    return name || h;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([resolve(), new Promise<string>(r => (timer = setTimeout(() => r(h), 2000)))]);
  } catch {
    return h;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * One scheduler's part in resque-scheduler's election: the same key, `host:pid` value and TTL,
 * re-armed by every pass, so a Ruby and a pyres-ts scheduler never lead at once and either
 * takes over when the other's lock expires (docs/SCHEDULER.md, "The lock").
 */
export class SchedulerLock {
  constructor(
    private readonly store: SchedulerStore,
    /** `<ns>:<ns>:[<prefix>:]resque_scheduler_master_lock` (DelayedKeys.masterLock). */
    readonly key: string,
    /** `host:pid`. */
    readonly value: string,
    /** Seconds (LOCK_TIMEOUT). */
    readonly timeout: number = DEFAULT_LOCK_TIMEOUT,
  ) {}

  /** Acquires or renews the lock (Ruby's `master?`); true while this scheduler leads. */
  async lead(): Promise<boolean> {
    return this.store.acquireOrRenewLock(this.key, this.value, this.timeout);
  }

  /** Deletes the lock if this scheduler holds it (on stop). */
  async release(): Promise<boolean> {
    return this.store.releaseLock(this.key, this.value);
  }

  /** The current holder's value and TTL, whoever it is. */
  holder(): ReturnType<SchedulerStore['lockHolder']> {
    return this.store.lockHolder(this.key);
  }
}

export { lockValue };
