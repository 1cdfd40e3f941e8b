/**
 * Ruby Resque 3.0.0's own capture of Resque::Failure::RedisMultiQueue (FAILURE_BACKEND=
 * redis_multi_queue), fixtures/resque-ruby/c5-failure-backend-redis-multi-queue (keys.json,
 * monitor.log as monitor.txt, from the research captures): a worker on p10,p9 ran a FailingJob from p10, then
 * `Failure.requeue(0, 'p10_failed')`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';

export const C5_DIR = join(__dirname, '..', '..', 'fixtures', 'resque-ruby', 'c5-failure-backend-redis-multi-queue');

/** The keys after the requeue (keys.json), `resque:` prefixed. */
export const C5_KEYS_AFTER = (JSON.parse(readFileSync(join(C5_DIR, 'keys.json'), 'utf8')) as { keys: Record<string, { type: string; value: unknown }> }).keys;

/** MONITOR lines as argument arrays. */
export const C5_MONITOR: string[][] = readFileSync(join(C5_DIR, 'monitor.txt'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map(l => [...l.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(m => JSON.parse(`"${m[1]}"`) as string));

/** Ruby's worker's commands on the failure keys, in order: SADD, RPUSH, INCRBY, INCRBY. */
export const C5_FAILURE_COMMANDS = C5_MONITOR.filter(
  a => /^(sadd|rpush|incrby)$/.test(a[0] ?? '') && /^resque:(failed_queues|p10_failed|failed|stat:failed)/.test(a[1] ?? ''),
).slice(0, 4);

/** The record Ruby's worker RPUSHed to `resque:p10_failed` (before the requeue). */
export const C5_RECORD = C5_FAILURE_COMMANDS[1]?.[2] as string;

/** The job Failure.requeue pushed back (RPUSH resque:queue:p10). */
export const C5_REQUEUED_JOB = (C5_MONITOR.find(
  a => a[0] === 'rpush' && a[1] === 'resque:queue:p10' && C5_MONITOR.indexOf(a) > C5_MONITOR.findIndex(b => b[0] === 'lset'),
) ?? [])[2] as string;

/** RedisMultiQueue's retried_at: no zone. */
export const MULTI_QUEUE_RETRIED_AT_RE = /"retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d"/;

/**
 * Redis as Ruby's worker left it (the capture before the requeue): `failed_queues` =
 * {p10_failed}, `p10_failed` = [C5_RECORD], stats, `queues` = {p10}, `queue:p10` empty.
 */
export async function seedRubyMultiQueue(r: Redis, ns = 'resque'): Promise<void> {
  await r
    .multi()
    .sadd(`${ns}:failed_queues`, 'p10_failed')
    .rpush(`${ns}:p10_failed`, C5_RECORD)
    .sadd(`${ns}:queues`, 'p10')
    .set(`${ns}:stat:failed`, '1')
    .set(`${ns}:stat:processed`, '1')
    .exec();
}
