import type { ChainableCommander } from 'ioredis';
import type { ResqueKeys } from '../protocol/keys';

/** What Redis holds about one registered worker. */
export interface WorkerDetails {
  id: string;
  /** `worker:<id>`; null when idle (absent, or an empty string some tools write). */
  working: string | null;
  started: string | null;
  heartbeat: string | null;
  processed: number;
  failed: number;
}

const PER_WORKER = 5;

/** Queues, on a pipeline, the reads resque-web's /workers/<id> page makes for each id. */
export function queueWorkerReads(p: ChainableCommander, keys: ResqueKeys, ids: readonly string[]): void {
  for (const id of ids) {
    p.get(keys.worker(id));
    p.get(keys.workerStarted(id));
    p.hget(keys.heartbeats, id);
    p.get(keys.stat('processed', id));
    p.get(keys.stat('failed', id));
  }
}

/** Reads back what queueWorkerReads queued, from the pipeline's results. */
export function workerDetailsFrom(ids: readonly string[], v: readonly unknown[]): WorkerDetails[] {
  const s = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
  return ids.map((id, i) => ({
    id,
    working: s(v[i * PER_WORKER]),
    started: s(v[i * PER_WORKER + 1]),
    heartbeat: s(v[i * PER_WORKER + 2]),
    processed: Number(v[i * PER_WORKER + 3] ?? 0),
    failed: Number(v[i * PER_WORKER + 4] ?? 0),
  }));
}
