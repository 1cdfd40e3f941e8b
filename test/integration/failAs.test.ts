/**
 * Job identity and timeouts as the job's own failure (issue 9, cases 5 and 6). Jobs are
 * numbered (JobEvent.seq); an abort that names another job does nothing; an abort with
 * `failAs` whose job honours its signal ends as an ordinary failure record (JobTimeoutError,
 * counted in stat:failed), never a Resque::DirtyExit and never requeued, whatever onDirtyExit says.
 */
import type Redis from 'ioredis';
import { currentJob } from '../../src/jobs/registry';
import type { JobEvent, Worker } from '../../src/worker/worker';
import { testDbUrl } from '../support/redisServer';
import { keys, registry, type Resources, waitFor, useResources } from './helpers';

const url = testDbUrl();
let res: Resources;
let r: Redis;

useResources(url, (x, y) => ((res = x), (r = y)));

/** Honours its signal: rejects with the signal's reason as soon as it fires. */
const jobs = registry({
  Honours: {
    perform: async () => {
      const { signal } = currentJob()!;
      await new Promise((_resolve, reject) => {
        const t = setTimeout(() => reject(new Error('not aborted within 20 s')), 20000);
        signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)));
      });
    },
  },
  Quick: { perform: () => undefined },
});

async function push(queue: string, cls: string): Promise<string> {
  const raw = `{"class":"${cls}","args":[]}`;
  await r.pipeline().sadd(keys.queues, queue).rpush(keys.queue(queue), raw).exec();
  return raw;
}

function nextEvent(w: Worker, name: 'job' | 'success' | 'failure'): Promise<JobEvent & { exception?: string; error?: string }> {
  return new Promise(resolve => w.once(name, resolve));
}

describe('abortCurrentJob: seq and failAs', () => {
  it.each(['fail', 'requeue'] as const)(
    'failAs: a job that honours its signal is a JobTimeoutError failure, counted, not requeued (onDirtyExit %s)',
    async policy => {
      const w = res.worker({ queues: 'q', jobs, onDirtyExit: policy });
      await w.start();
      const jobEv = nextEvent(w, 'job');
      const raw = await push('q', 'Honours');
      const ev = await jobEv;
      expect(ev.seq).toBe(1);
      expect(w.currentJobSeq).toBe(1);
      const failed = nextEvent(w, 'failure');
      expect(
        w.abortCurrentJob('job timeout (2s)', {
          abandon: false,
          seq: ev.seq,
          failAs: { exception: 'JobTimeoutError', message: 'Job exceeded its 2s timeout' },
        }),
      ).toBe(true);
      const f = await failed;
      expect(f).toMatchObject({ seq: 1, exception: 'JobTimeoutError', error: 'Job exceeded its 2s timeout' });
      await waitFor(async () => (await r.llen(keys.failed)) === 1, 'the failure record');
      const rec = JSON.parse((await r.lindex(keys.failed, 0))!) as Record<string, unknown>;
      expect(rec).toMatchObject({ exception: 'JobTimeoutError', error: 'Job exceeded its 2s timeout', backtrace: [], worker: w.id, queue: 'q' });
      expect(rec['payload']).toEqual(JSON.parse(raw));
      expect(await r.get(keys.stat('failed'))).toBe('1');
      expect(await r.get(keys.stat('failed', w.id))).toBe('1');
      expect(await r.get(keys.stat('processed'))).toBe('1');
      expect(await r.llen(keys.queue('q'))).toBe(0);
      // The worker goes on with the next job, numbered 2.
      const next = nextEvent(w, 'success');
      await push('q', 'Quick');
      expect((await next).seq).toBe(2);
      expect(w.currentJobSeq).toBeNull();
      expect(await r.llen(keys.failed)).toBe(1);
    },
  );

  it('an abort naming another job (a stale seq) does nothing; without a current job, nothing either', async () => {
    const w = res.worker({ queues: 'q', jobs });
    await w.start();
    expect(w.abortCurrentJob('idle', { seq: 1 })).toBe(false);
    const first = nextEvent(w, 'success');
    await push('q', 'Quick');
    expect((await first).seq).toBe(1);
    const jobEv = nextEvent(w, 'job');
    await push('q', 'Honours');
    const ev = await jobEv;
    expect(ev.seq).toBe(2);
    // The master decided to abort job #1 (e.g. it was stopped for a while): job #2 is untouched.
    expect(w.abortCurrentJob('job timeout (1s)', { abandon: false, seq: 1, failAs: { exception: 'JobTimeoutError', message: 'stale' } })).toBe(false);
    await new Promise(res_ => setTimeout(res_, 200));
    expect(w.currentJobSeq).toBe(2);
    expect(w.state).toBe('working');
    expect(await r.llen(keys.failed)).toBe(0);
    // A plain abort of the right job still works (Resque::DirtyExit, as before).
    const failed = nextEvent(w, 'failure');
    expect(w.abortCurrentJob('SIGUSR1', { seq: 2 })).toBe(true);
    expect(await failed).toMatchObject({ seq: 2, exception: 'Resque::DirtyExit' });
  });
});
