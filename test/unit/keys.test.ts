import { ResqueKeys, failureListFor, jobQueueOfFailureList } from '../../src/protocol/keys';
import { hash, list, loadKeys, members, str } from './fixtureData';

const ID = 'vm:7652:p10,p9';

describe('ResqueKeys', () => {
  test('default namespace is resque; every key name', () => {
    const k = new ResqueKeys();
    expect(k.namespace).toBe('resque');
    expect(k.prefix).toBe('resque:');
    expect(k.key('anything')).toBe('resque:anything');
    expect(k.queues).toBe('resque:queues');
    expect(k.queuePrefix).toBe('resque:queue:');
    expect(k.queue('p10')).toBe('resque:queue:p10');
    expect(k.workers).toBe('resque:workers');
    expect(k.worker(ID)).toBe('resque:worker:vm:7652:p10,p9');
    expect(k.workerStarted(ID)).toBe('resque:worker:vm:7652:p10,p9:started');
    expect(k.heartbeats).toBe('resque:workers:heartbeat');
    expect(k.pruneLock).toBe('resque:pruning_dead_workers_in_progress');
    expect(k.stat('processed')).toBe('resque:stat:processed');
    expect(k.stat('failed')).toBe('resque:stat:failed');
    expect(k.stat('processed', ID)).toBe('resque:stat:processed:vm:7652:p10,p9');
    expect(k.stat('failed', ID)).toBe('resque:stat:failed:vm:7652:p10,p9');
    expect(k.failed).toBe('resque:failed');
    expect(k.pauseAll).toBe('resque:pause-all-workers');
  });

  test("pyres' Khan keys (d3: RPUSH resque:khan:vm:13514:2 ADD) and the pyres-ts master keys", () => {
    const k = new ResqueKeys();
    expect(k.khans).toBe('resque:khans');
    expect(k.khan('vm:13514:2')).toBe('resque:khan:vm:13514:2');
    expect(k.masters).toBe('resque:pyres-ts:masters');
    expect(k.master('vm:4242')).toBe('resque:pyres-ts:master:vm:4242');
    expect(k.masterCommands('vm:4242')).toBe('resque:pyres-ts:master:vm:4242:commands');
    const c = new ResqueKeys('myapp');
    expect(c.khans).toBe('myapp:khans');
    expect(c.khan('vm:13514:2')).toBe('myapp:khan:vm:13514:2');
    expect(c.masters).toBe('myapp:pyres-ts:masters');
    expect(c.master('vm:4242')).toBe('myapp:pyres-ts:master:vm:4242');
    expect(c.masterCommands('vm:4242')).toBe('myapp:pyres-ts:master:vm:4242:commands');
  });

  test('custom namespace', () => {
    const k = new ResqueKeys('myapp');
    expect(k.namespace).toBe('myapp');
    expect(k.queues).toBe('myapp:queues');
    expect(k.queuePrefix).toBe('myapp:queue:');
    expect(k.queue('p10')).toBe('myapp:queue:p10');
    expect(k.workers).toBe('myapp:workers');
    expect(k.worker(ID)).toBe('myapp:worker:vm:7652:p10,p9');
    expect(k.workerStarted(ID)).toBe('myapp:worker:vm:7652:p10,p9:started');
    expect(k.heartbeats).toBe('myapp:workers:heartbeat');
    expect(k.pruneLock).toBe('myapp:pruning_dead_workers_in_progress');
    expect(k.stat('processed')).toBe('myapp:stat:processed');
    expect(k.stat('failed', ID)).toBe('myapp:stat:failed:vm:7652:p10,p9');
    expect(k.failed).toBe('myapp:failed');
    expect(k.pauseAll).toBe('myapp:pause-all-workers');
  });

  test('a namespace with a colon and the empty namespace', () => {
    expect(new ResqueKeys('app:resque').queue('p10')).toBe('app:resque:queue:p10');
    const bare = new ResqueKeys('');
    expect(bare.prefix).toBe('');
    expect(bare.queues).toBe('queues');
    expect(bare.worker(ID)).toBe('worker:vm:7652:p10,p9');
  });

  test('members and fields are never prefixed (queue names and ids go in bare)', () => {
    const k = new ResqueKeys('myapp');
    // a queue name or id that happens to look namespaced is used verbatim, not stripped or re-prefixed
    expect(k.queue('resque:x')).toBe('myapp:queue:resque:x');
    expect(k.worker('myapp:1:q')).toBe('myapp:worker:myapp:1:q');
  });

  test('b-worker-success (during the job): exactly the keys Ruby had, members bare', () => {
    const dump = loadKeys('resque-ruby/b-worker-success/keys-during-job.json');
    const k = new ResqueKeys();
    const [id] = members(dump, k.workers);
    expect(id).toBe(ID);
    expect(Object.keys(dump).sort()).toEqual([k.pruneLock, k.queues, k.worker(ID), k.workerStarted(ID), k.workers, k.heartbeats].sort());
    expect(members(dump, k.queues)).toEqual(['p10']);
    expect(Object.keys(hash(dump, k.heartbeats))).toEqual([ID]);
    expect(str(dump, k.pruneLock)).toBe(ID);
  });

  test('c3 (after USR1): global and per-worker stat keys, failed list', () => {
    const dump = loadKeys('resque-ruby/c3-dirty-exit-usr1-term/keys-after-usr1.json');
    const k = new ResqueKeys();
    const id = 'vm:8389:p10,p9';
    expect(members(dump, k.workers)).toEqual([id]);
    expect(str(dump, k.stat('processed'))).toBe('1');
    expect(str(dump, k.stat('processed', id))).toBe('1');
    expect(list(dump, k.failed)).toHaveLength(1);
    expect(str(dump, k.workerStarted(id))).toBe('2026-11-22 22:11:44 +0000');
  });

  test('a-enqueue: each queues member has a queue:<member> list', () => {
    const dump = loadKeys('resque-ruby/a-enqueue/keys.json');
    const k = new ResqueKeys();
    const qs = members(dump, k.queues);
    expect(qs).toEqual(['p10', 'p9']);
    for (const q of qs) {
      expect(k.queue(q)).toBe(k.queuePrefix + q);
      expect(dump[k.queue(q)]?.type).toBe('list');
    }
  });

  test('d-prune-dead-workers: per-worker keys of every seeded worker', () => {
    const dump = loadKeys('resque-ruby/d-prune-dead-workers/keys-before.json');
    const k = new ResqueKeys();
    for (const id of members(dump, k.workers)) {
      expect(id.startsWith('resque:')).toBe(false);
      expect(str(dump, k.workerStarted(id))).toBe('2026-11-22 21:12:18 +0000');
      expect(str(dump, k.stat('processed', id))).toBe('5');
    }
    expect(Object.keys(hash(dump, k.heartbeats)).sort()).toEqual(['ghost:4444:p10', 'otherhost:12345:p10,p9', 'otherhost:22222:p10,p9']);
  });
});

describe('failure lists (Resque::Failure::Redis and RedisMultiQueue, c5)', () => {
  test('keys and names', () => {
    const k = new ResqueKeys();
    expect(k.failedQueues).toBe('resque:failed_queues');
    expect(k.failureList('p10_failed')).toBe('resque:p10_failed');
    expect(new ResqueKeys('').failedQueues).toBe('failed_queues');
    expect(failureListFor('redis', 'p10')).toBe('failed');
    expect(failureListFor('redis_multi_queue', 'p10')).toBe('p10_failed');
    expect(failureListFor('redis_multi_queue', '')).toBe('failed');
    expect(jobQueueOfFailureList('p10_failed')).toBe('p10');
    expect(jobQueueOfFailureList('a_failed_failed')).toBe('a_failed');
  });

  test("Ruby's capture: failed_queues names p10_failed; nothing in failed", () => {
    const dump = loadKeys('resque-ruby/c5-failure-backend-redis-multi-queue/keys.json');
    expect(members(dump, new ResqueKeys().failedQueues)).toEqual([failureListFor('redis_multi_queue', 'p10')]);
    expect(list(dump, new ResqueKeys().failureList('p10_failed'))).toHaveLength(1);
    expect(dump['resque:failed']).toBeUndefined();
  });
});
