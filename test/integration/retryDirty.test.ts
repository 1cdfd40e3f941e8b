/**
 * A worker's own dirty exit (USR1 abort, --on-dirty-exit fail) of a job whose class retries
 * with suppressFailures: Ruby's DirtyExit goes through Job#fail, so resque-retry re-enqueues it
 * and MultipleWithRetrySuppression keeps it out of `failed`; pyres-ts does the same (issue 12).
 */
import type Redis from 'ioredis';
import { defineJob } from '../../src/jobs/define';
import { currentJob } from '../../src/jobs/registry';
import { retryKey } from '../../src/protocol/retry';
import type { JobEvent, Worker } from '../../src/worker/worker';
import { testDbUrl } from '../support/redisServer';
import { keys, registry, type Resources, waitFor, useResources } from './helpers';

const url = testDbUrl();
let res: Resources;
let r: Redis;

useResources(url, (x, y) => ((res = x), (r = y)));

let runs = 0;
const jobs = registry({
  // The first run waits for its abort (which may come before perform starts); the retry succeeds.
  Aborted: defineJob({
    retry: { limit: 1, suppressFailures: true },
    async perform(_x: string) {
      runs++;
      if (runs > 1) return;
      const { signal } = currentJob()!;
      await new Promise((_resolve, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  }),
});

function nextEvent(w: Worker, name: 'job' | 'success' | 'failure'): Promise<JobEvent & { exception?: string }> {
  return new Promise(resolve => w.once(name, resolve));
}

describe('a worker’s own dirty exit of a retried job', () => {
  it('USR1 abort with onDirtyExit fail: Resque::DirtyExit is retried (delay 0: straight back) and not recorded under suppressFailures', async () => {
    const w = res.worker({ queues: 'q', jobs, onDirtyExit: 'fail' });
    await w.start();
    const started = nextEvent(w, 'job');
    await r.pipeline().sadd(keys.queues, 'q').rpush(keys.queue('q'), '{"class":"Aborted","args":["d"]}').exec();
    const ev = await started;
    const failed = nextEvent(w, 'failure');
    const succeeded = nextEvent(w, 'success');
    expect(w.abortCurrentJob('SIGUSR1', { abandon: false, seq: ev.seq })).toBe(true);
    expect(await failed).toMatchObject({ exception: 'Resque::DirtyExit' });
    expect((await succeeded).seq).toBe(ev.seq + 1);
    expect(runs).toBe(2);
    await waitFor(async () => (await r.get(keys.stat('processed'))) === '2', 'both runs finished');
    expect(await r.llen(keys.failed)).toBe(0);
    // A dirty exit is not counted in stat:failed (as Ruby); the success deleted the counter.
    expect(await r.get(keys.stat('failed'))).toBeNull();
    expect(await r.exists(`resque:${retryKey('Aborted', ['d'])}`)).toBe(0);
  });
});
