import type { JobArgs } from '../jobs/define';
import { displayClassName, encodeJob, encodeJobArgsText } from '../protocol/job';
import { decodeWorkingOn } from '../protocol/records';
import { parseResqueTime } from '../protocol/time';
import { parseWorkerId } from '../protocol/workerId';
import type { ConnectionOptions } from '../store/connection';
import { RedisStore } from '../store/redisStore';

export interface ClientOptions {
  connection?: ConnectionOptions;
  /** @defaultValue 'resque' */
  namespace?: string;
}

export interface WorkerStatus {
  id: string;
  host: string;
  pid: number | null;
  queues: string[];
  /** Null when idle. */
  job: { queue: string; className: string; runAt: string | null; payload: string } | null;
  started: string | null;
  heartbeat: string | null;
  processed: number;
  failed: number;
}

export interface Status {
  redis: string;
  namespace: string;
  queues: Array<{ queue: string; size: number }>;
  workers: WorkerStatus[];
  /** LLEN failed, as resque-web counts failures. */
  /** Records in every failure list: `failed` plus RedisMultiQueue's `<queue>_failed` lists. */
  failed: number;
  /** Each failure list and its length (`failed` first, then the members of `failed_queues`). */
  failedLists: Array<{ list: string; size: number }>;
  stats: { processed: number; failed: number };
  pausedAll: boolean;
}

/**
 * The class names a typed Client accepts: every string for an untyped one (`Client<{}>`, the
 * default), else the keys of its job map.
 */
export type JobName<J> = [keyof J] extends [never] ? string : Extract<keyof J, string>;

/** The args `enqueue` takes for `N`: the job's own `perform` parameters in a typed Client. */
export type EnqueueArgs<J, N> = N extends keyof J ? JobArgs<J[N]> : unknown[];

/**
 * A producer and inspector: `enqueue` writes exactly what `Resque.enqueue` writes.
 *
 * Typed by a job map, `enqueue` checks the class name and its args at compile time:
 * `import * as jobs from './jobs'; const c = new Client<typeof jobs>(); c.enqueue('p10', 'Archive', 42)`.
 */
// biome-ignore lint/complexity/noBannedTypes: `{}` is "no job map": enqueue then takes any class name and args
export class Client<J extends object = {}> {
  readonly store: RedisStore;

  constructor(opts: ClientOptions = {}) {
    this.store = new RedisStore({ connection: opts.connection ?? {}, namespace: opts.namespace ?? 'resque', name: 'pyres-ts:client' });
  }

  async connect(): Promise<this> {
    // A producer runs no script: a user with Ruby Resque's commands may enqueue.
    await this.store.connect({ scripts: false });
    return this;
  }

  /** `Resque.enqueue`: SADD queues + RPUSH `{"class":...,"args":[...]}`. Returns the payload. */
  async enqueue<N extends JobName<J>>(queue: string, className: N, ...args: EnqueueArgs<J, N>): Promise<string> {
    checkQueue(queue);
    const payload = encodeJob(className, args);
    await this.store.enqueue(queue, payload);
    return payload;
  }

  /**
   * `enqueue` with the args given as JSON text (an array, e.g. `'[9007199254740993,1.0]'`):
   * pushed as written, only compacted, so big integers, `1.0` and key order reach the job as
   * the caller wrote them. Returns the payload.
   */
  async enqueueArgsText(queue: string, className: string, argsText: string): Promise<string> {
    checkQueue(queue);
    const payload = encodeJobArgsText(className, argsText);
    await this.store.enqueue(queue, payload);
    return payload;
  }

  async status(): Promise<Status> {
    const s = this.store;
    const [queues, ids, failedLists, processedStat, failedStat, pausedAll] = await Promise.all([
      s.queueSizes(),
      s.listWorkers(),
      s.failureLists(),
      s.stat('processed'),
      s.stat('failed'),
      s.isPausedGlobally(),
    ]);
    const details = await s.workerDetails(ids);
    const workers = details.map((d): WorkerStatus => {
      const parts = parseWorkerId(d.id);
      let job: WorkerStatus['job'] = null;
      if (d.working) {
        const w = decodeWorkingOn(d.working);
        const className = displayClassName(w?.rawPayload ?? '') ?? '?';
        job = { queue: w?.queue ?? '', className, runAt: w?.runAt?.toISOString() ?? null, payload: w?.rawPayload ?? d.working };
      }
      return {
        id: d.id,
        host: parts?.host ?? d.id.split(':')[0] ?? '',
        pid: parts?.pid ?? null,
        queues: parts?.queues ?? [],
        job,
        started: d.started ? (parseResqueTime(d.started)?.toISOString() ?? d.started) : null,
        heartbeat: d.heartbeat ? (parseResqueTime(d.heartbeat)?.toISOString() ?? d.heartbeat) : null,
        processed: d.processed,
        failed: d.failed,
      };
    });
    return {
      redis: s.where,
      namespace: s.keys.namespace,
      queues,
      workers,
      failed: failedLists.reduce((n, l) => n + l.size, 0),
      failedLists,
      stats: { processed: processedStat, failed: failedStat },
      pausedAll,
    };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function checkQueue(queue: string): void {
  if (typeof queue !== 'string' || queue === '' || queue.includes(',') || queue.includes(':')) {
    throw new TypeError(`queue ${JSON.stringify(queue)} must be a non-empty name without ',' or ':'`);
  }
}
