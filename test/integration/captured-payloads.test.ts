/**
 * Real payloads captured from Ruby Resque 3.0 and from Pyres (Pinterest fork and upstream), pushed
 * raw exactly as those producers pushed them: a pyres-ts worker runs them with the right args, and
 * its worker:<id> and failed records embed the payload bytes exactly as pushed.
 *
 * The payload strings are copied, byte for byte, from the shared captures into
 * test/integration/fixtures/payloads/*.json.
 */
import type Redis from 'ioredis';
import { currentJob, type JobRegistry } from '../../src';
import { poisonBytes, poisonPayload } from '../../src/protocol/records';
import { testDbUrl } from '../support/redisServer';
import {
  keyOrder,
  keys,
  loadPayloads,
  loadRubyRecords,
  type PayloadFixture,
  registry,
  type Resources,
  RUN_AT_RE,
  waitFor,
  watch,
  useResources,
} from './helpers';

const url = testDbUrl();

let res: Resources;
let r: Redis;

useResources(url, (x, y) => ((res = x), (r = y)));

interface Performed {
  name: string;
  className: string;
  queue: string;
  args: unknown[];
  working: string | null;
}

/** Jobs under the names their producers use: Ruby `MixedJob`/`EncJob`, pyres `testjobs.Echo` → `Echo`. */
function jobsRecording(performed: Performed[], fail: boolean): JobRegistry {
  const job = (name: string) =>
    async function perform(...args: unknown[]): Promise<void> {
      const ctx = currentJob()!;
      const working = await r.get(keys.worker(ctx.workerId));
      performed.push({ name, className: ctx.className, queue: ctx.queue, args, working });
      if (fail) throw new RangeError(`${name} failed on purpose`);
    };
  return registry({ MixedJob: job('MixedJob'), EncJob: job('EncJob'), Echo: job('Echo') });
}

/** RPUSHes every item raw and registers its queue, as Ruby and pyres do (SADD + RPUSH). */
async function pushRaw(fx: PayloadFixture): Promise<Array<{ queue: string; raw: string }>> {
  const pushed: Array<{ queue: string; raw: string }> = [];
  for (const [queue, items] of Object.entries(fx.queues)) {
    for (const raw of items) {
      await r.sadd(keys.queues, queue);
      await r.rpush(keys.queue(queue), raw);
      pushed.push({ queue, raw });
    }
  }
  return pushed;
}

const EXPECTED_JOB: Record<string, string> = { MixedJob: 'MixedJob', EncJob: 'EncJob', 'testjobs.Echo': 'Echo' };

const GOOD_FIXTURES = [
  'ruby-a-enqueue.json',
  'ruby-a2-json-encoding.json',
  'pyres-a-enqueue-pinterest.json',
  'pyres-a-enqueue-upstream.json',
  'pyres-py2-predicted.json',
];

describe.each(GOOD_FIXTURES)('%s', file => {
  const fx = loadPayloads(file);
  const queues = Object.keys(fx.queues);

  it('is performed with the right args; worker:<id> embeds the bytes as pushed', async () => {
    const performed: Performed[] = [];
    const pushed = await pushRaw(fx);
    const w = res.worker({ queues, jobs: jobsRecording(performed, false) });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.successes === pushed.length, `${pushed.length} successes`);
    expect(seen.failures).toEqual([]);
    // Queues in priority order, each in push order.
    expect(performed.map(p => p.queue)).toEqual(pushed.map(p => p.queue));
    performed.forEach((p, i) => {
      const { raw, queue } = pushed[i]!;
      const decoded = JSON.parse(raw) as { class: string; args: unknown[] };
      expect(p.className).toBe(decoded.class);
      expect(p.name).toBe(EXPECTED_JOB[decoded.class]);
      expect(p.args).toEqual(decoded.args);
      // The record Ruby and resque-web read, with the payload's own bytes (1.0, big ints,
      // ", " separators, key order, extra fields all kept).
      const m = /^\{"queue":"([^"]*)","run_at":"([^"]*)","payload":(.*)\}$/s.exec(p.working ?? '');
      expect(m).not.toBeNull();
      expect(m![1]).toBe(queue);
      expect(m![2]).toMatch(RUN_AT_RE);
      expect(m![3]).toBe(raw);
      expect(keyOrder(p.working!)).toEqual(keyOrder(loadRubyRecords().workingOn));
    });
    expect(await r.get(keys.stat('processed'))).toBe(String(pushed.length));
    expect(await r.llen(keys.failed)).toBe(0);
  });

  it('failed records embed the bytes as pushed', async () => {
    const performed: Performed[] = [];
    const pushed = await pushRaw(fx);
    const w = res.worker({ queues, jobs: jobsRecording(performed, true) });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.failures.length === pushed.length, `${pushed.length} failures`);
    await waitFor(async () => (await r.llen(keys.failed)) === pushed.length, 'the failed records');
    const records = await r.lrange(keys.failed, 0, -1);
    records.forEach((record, i) => {
      const { raw, queue } = pushed[i]!;
      const m =
        /^\{"failed_at":"[^"]*","payload":(.*),"exception":"RangeError","error":"(?:[^"\\]|\\.)*","backtrace":\[.*\],"worker":"[^"]*","queue":"([^"]*)"\}$/s.exec(
          record,
        );
      expect(m).not.toBeNull();
      expect(m![1]).toBe(raw);
      expect(m![2]).toBe(queue);
      // Ruby's Failure.remove / requeue and LREM of the payload find it by these bytes.
      expect(record.includes(raw)).toBe(true);
    });
    expect(performed.map(p => p.args)).toEqual(pushed.map(p => (JSON.parse(p.raw) as { args: unknown[] }).args));
    expect(await r.get(keys.stat('failed'))).toBe(String(pushed.length));
  });
});

describe('Ruby specifics', () => {
  it('MixedJob args and Ruby floats/big ints arrive as JSON.parse gives them', async () => {
    const performed: Performed[] = [];
    await pushRaw(loadPayloads('ruby-a-enqueue.json'));
    await pushRaw(loadPayloads('ruby-a2-json-encoding.json'));
    const w = res.worker({ queues: 'p10,p9,enc_oj,enc_json_gem', jobs: jobsRecording(performed, false) });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.successes === 6, '6 jobs');
    expect(performed.slice(0, 4).map(p => [p.name, p.args])).toEqual([
      ['MixedJob', [1, 'two', { three: 3 }]],
      ['MixedJob', [1, 'two', { three: 3 }]],
      ['MixedJob', [1, 'two', { three: 3 }]],
      ['MixedJob', []],
    ]);
    const enc = performed[4]!.args;
    expect(enc.slice(0, 6)).toEqual([1, 2.5, 1e20, 1e-5, 0, 2 ** 64]);
    expect(enc.slice(6)).toEqual([
      null,
      true,
      false,
      'ünïcødé ✓ 😀',
      '</script> & \'q\' "dq"',
      'line\nbreak\ttab\\bs',
      '\u0001ctl',
      'sym',
      { nested: [1, { x: null }], '2': 'intkey' },
      [],
      {},
    ]);
    expect(Object.is(performed[5]!.args[4], -0)).toBe(true); // json_gem's -0.0
  });

  it('poison items from c6/c7 become failed records (Ruby drops or crashes); the good ones run', async () => {
    const performed: Performed[] = [];
    const fx = loadPayloads('ruby-poison.json');
    for (const q of ['c6', 'c7']) for (const raw of fx.queues[q]!) await r.rpush(keys.queue('p10'), raw);
    const w = res.worker({ queues: 'p10', jobs: jobsRecording(performed, false) });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.successes === 3 && seen.failures.length === 3, 'all six items');
    expect(performed.map(p => p.args)).toEqual([['after-the-bad-one'], ['after-null'], ['after-array']]);
    const records = await r.lrange(keys.failed, 0, -1);
    // Refused, each with a PyresTs::PoisonItem payload holding the item's exact bytes.
    const parsed = records.map(x => JSON.parse(x) as { payload: unknown; exception: string });
    expect(parsed.map(x => [poisonBytes(x.payload)?.toString('utf8'), x.exception])).toEqual([
      ['not json {', 'PayloadDecodeError'],
      ['null', 'PayloadDecodeError'],
      ['[1,2]', 'PayloadDecodeError'],
    ]);
    expect(await r.sismember(keys.workers, w.id)).toBe(1);
  });
});

describe('Pyres specifics', () => {
  it('c3-bad-payloads: dotted names match by last segment, missing args is [], the rest are failures', async () => {
    const performed: Performed[] = [];
    const fx = loadPayloads('pyres-c3-bad-payloads.json');
    const pushed = await pushRaw(fx);
    const w = res.worker({ queues: 'p10,p9', jobs: jobsRecording(performed, false) });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.successes + seen.failures.length === pushed.length, 'all six items');
    expect(performed.map(p => [p.className, p.args])).toEqual([
      ['Echo', [1]],
      ['testjobs.Echo', []],
      ['testjobs.Echo', ['after-bad-json']],
    ]);
    const records = await r.lrange(keys.failed, 0, -1);
    expect(records.map(x => /"payload":(.*),"exception":"([^"]+)"/s.exec(x)?.slice(1, 3))).toEqual([
      ['{"class": "nosuchmodule.Foo", "args": []}', 'UnknownJobClassError'],
      ['{"class": "testjobs.Nope", "args": []}', 'UnknownJobClassError'],
      [poisonPayload(Buffer.from('not json')), 'PayloadDecodeError'],
    ]);
    expect(await r.get(keys.stat('processed'))).toBe('6');
    expect(await r.get(keys.stat('failed'))).toBe('3');
  });

  it('a dotted name whose last segment is ambiguous is not guessed', async () => {
    const calls: string[] = [];
    const jobs = registry({ 'a.Echo': () => void calls.push('a'), 'b.Echo': () => void calls.push('b') });
    await r.rpush(keys.queue('p10'), loadPayloads('pyres-a-enqueue-pinterest.json').queues['p10']![0]!);
    const w = res.worker({ queues: 'p10', jobs });
    const seen = watch(w);
    await w.start();
    await waitFor(() => seen.failures.length === 1, 'the failure');
    expect(calls).toEqual([]);
    expect(seen.failures[0]!.exception).toBe('UnknownJobClassError');
  });
});
