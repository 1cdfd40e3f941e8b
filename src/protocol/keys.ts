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
  /** Pyres' Khan registry (`host:pid:pool_size`) and its command lists. */
  get khans(): string {
    return this.key('khans');
  }
  khan(id: string): string {
    return this.key(`khan:${id}`);
  }
}
