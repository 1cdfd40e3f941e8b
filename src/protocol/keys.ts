/**
 * Resque's key layout. The only place where a namespace and a key are joined with ':'.
 * Set members and hash fields (worker ids, queue names) are never prefixed.
 */
export class ResqueKeys {
  readonly prefix: string;

  constructor(readonly namespace: string = 'resque') {
    this.prefix = namespace === '' ? '' : `${namespace}:`;
  }

  key(name: string): string {
    return this.prefix + name;
  }
  get queues(): string {
    return this.key('queues');
  }
  /** Prefix of every queue list: `<ns>:queue:`. */
  get queuePrefix(): string {
    return this.key('queue:');
  }
  queue(name: string): string {
    return this.key(`queue:${name}`);
  }
  get workers(): string {
    return this.key('workers');
  }
  worker(id: string): string {
    return this.key(`worker:${id}`);
  }
  workerStarted(id: string): string {
    return this.key(`worker:${id}:started`);
  }
  get heartbeats(): string {
    return this.key('workers:heartbeat');
  }
  get pruneLock(): string {
    return this.key('pruning_dead_workers_in_progress');
  }
  /** `stat:processed`, `stat:failed`, or the per-worker `stat:<name>:<id>`. */
  stat(name: 'processed' | 'failed', workerId?: string): string {
    return this.key(workerId === undefined ? `stat:${name}` : `stat:${name}:${workerId}`);
  }
  get failed(): string {
    return this.key('failed');
  }
  /**
   * A failure list by its name as Resque stores it: `failed` (Resque::Failure::Redis) or
   * `<queue>_failed` (Resque::Failure::RedisMultiQueue, listed in `failed_queues`).
   */
  failureList(name: string): string {
    return this.key(name);
  }
  /** RedisMultiQueue's set of per-queue failure list names (`<queue>_failed`). */
  get failedQueues(): string {
    return this.key('failed_queues');
  }
  get pauseAll(): string {
    return this.key('pause-all-workers');
  }

  /**
   * pyres-ts only: hash, field = worker id, value = the worker's PID-namespace identity
   * (`pid:[<inode>]@<boot id>`, see worker/pidNamespace.ts). Written at registration, removed
   * by the unregister script. A pruner judges a worker's pid only when this record equals its own.
   */
  get pidNamespaces(): string {
    return this.key('pyres-ts:pidns');
  }

  /** pyres-ts masters advertise here (set of `host:pid`). */
  get masters(): string {
    return this.key('pyres-ts:masters');
  }
  master(id: string): string {
    return this.key(`pyres-ts:master:${id}`);
  }
  masterCommands(id: string): string {
    return this.key(`pyres-ts:master:${id}:commands`);
  }
  /** A master's recent log lines (a list, oldest first), for `pyres-ts ctl watch`. */
  masterLog(id: string): string {
    return this.key(`pyres-ts:master:${id}:log`);
  }
  /** Pyres' Khan registry (`host:pid:pool_size`) and its command lists. */
  get khans(): string {
    return this.key('khans');
  }
  khan(id: string): string {
    return this.key(`khan:${id}`);
  }
}

/** Resque's failure backends: `Resque::Failure::Redis` and `Resque::Failure::RedisMultiQueue`. */
export type FailureBackend = 'redis' | 'redis_multi_queue';
export const FAILURE_BACKENDS: readonly FailureBackend[] = ['redis', 'redis_multi_queue'];

/** The list name of the default backend. */
export const DEFAULT_FAILURE_LIST = 'failed';

/**
 * The failure list a record of a job from `queue` goes to: `failed`, or under
 * redis_multi_queue `<queue>_failed` (Resque::Failure.failure_queue_name). A record without a
 * queue (an unreadable working-on record) goes to `failed` under either backend.
 */
export function failureListFor(backend: FailureBackend, queue: string): string {
  return backend === 'redis_multi_queue' && queue !== '' ? `${queue}_failed` : DEFAULT_FAILURE_LIST;
}

/** Resque::Failure.job_queue_name: `foo_failed` -> `foo`. */
export function jobQueueOfFailureList(list: string): string {
  return list.replace(/_failed$/, '');
}
