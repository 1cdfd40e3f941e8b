/**
 * Poison and hostile input. A queue is filled with ~300 seeded-random hostile items: random
 * bytes, invalid UTF-8 (bare and inside JSON strings), deeply nested JSON, 10 MB payloads, huge
 * `args`, wrong types everywhere, Ruby and pyres payload shapes, prototype keys, and jobs that
 * throw every kind of thing. One real worker (the bin, --drain) works them all. Then:
 *
 * - the worker survived and exited 0, having unregistered;
 * - every item is accounted for: stat:processed == items, successes + failure records == items;
 * - every failure record is valid UTF-8 JSON that resque-web can render (PROTOCOL-resque §8.4):
 *   Ruby's key order, failed_at in Ruby's format, string worker/exception/error/queue, an array
 *   backtrace of strings, a payload;
 * - its peak RSS stayed bounded (see MEMORY_BOUND_MB).
 *
 * PYRES_FUZZ_SEED=<n> reruns a given seed.
 */
import * as fs from 'node:fs';
import type Redis from 'ioredis';
import { RedisProc } from '../faults/redisProc';
import { CHAOS_JOBS, client, faultEnv, FAILED_AT_RE, k, memoryKb, sleep, stackLines, workerIdFor } from '../faults/helpers';

/**
 * Peak RSS bound for the worker, measured and explained:
 * - an idle worker: ~70 MB;
 * - one 10 MB item alone: 125-150 MB peak (the Redis reply, a JS string, the parsed args, the
 *   failure record and the outgoing command are each a copy); a 10 MB blob of invalid UTF-8 is
 *   the worst single item, ~200 MB: every bad byte becomes U+FFFD, 2 bytes in a JS string and
 *   3 in the UTF-8 failure record;
 * - this whole set (three 10 MB items, a 1M-element args array, 100k-deep nesting...): 275-350
 *   MB peak over runs, because V8 frees those large strings lazily, not because it keeps them:
 *   with the heap capped (--max-old-space-size=160) sixteen 10 MB blobs in a row peak at ~310 MB
 *   and the worker does not run out of heap.
 * A worker that kept a copy of each big item would add ~60-90 MB per item on top; 450 MB is
 * above the measured worst with margin for GC timing, and below what retention would reach.
 */
const MEMORY_BOUND_MB = 450;
const MB10 = 10 * 1024 * 1024;
const SEED = Number(process.env['PYRES_FUZZ_SEED'] ?? 20261123);
const FAILURE_KEYS = ['failed_at', 'payload', 'exception', 'error', 'backtrace', 'worker', 'queue'];

const env = faultEnv();
let srv: RedisProc;
let r: Redis;

beforeAll(async () => {
  srv = await RedisProc.start({ extraArgs: ['--proto-max-bulk-len', '64mb'] });
  r = client(srv.url);
});
afterAll(() => r?.disconnect());

function rng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    bytes(n: number): Buffer {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}

type Item = { kind: string; raw: Buffer };

function nested(depth: number, open: string, close: string, inner: string): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** The hostile items, deterministic for a seed. */
function hostileItems(seed: number): Item[] {
  const g = rng(seed);
  const items: Item[] = [];
  const add = (kind: string, raw: string | Buffer): void => {
    items.push({ kind, raw: typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw });
  };
  const J = JSON.stringify;

  // -- fixed corpus: one of each hostile shape --
  add('empty', '');
  add('space', ' ');
  add('nul', Buffer.from([0]));
  add('json-null', 'null');
  add('json-true', 'true');
  add('json-number', '42');
  add('json-string', '"Record"');
  add('json-array', '[1,2]');
  add('json-array-of-job', '[{"class":"Record","args":[1]}]');
  add('empty-object', '{}');
  add('class-number', '{"class":5,"args":[]}');
  add('class-array', '{"class":["Record"],"args":[]}');
  add('class-object', '{"class":{"name":"Record"},"args":[]}');
  add('class-null', '{"class":null,"args":[]}');
  add('class-true', '{"class":true}');
  add('class-empty', '{"class":"","args":[]}');
  add('args-object', '{"class":"Record","args":{"0":1}}');
  add('args-string', '{"class":"Record","args":"1,2"}');
  add('args-number', '{"class":"Record","args":7}');
  add('args-null', '{"class":"Record","args":null}'); // null args = [] (Ruby)
  add('args-missing', '{"class":"Record"}');
  add('bom', '\ufeff{"class":"Record","args":["bom"]}');
  add('leading-space', '   {"class":"Record","args":["lead"]}');
  add('trailing-garbage', '{"class":"Record","args":[1]} trailing');
  add('truncated', '{"class":"Record","args":[1,');
  add('duplicate-class', '{"class":"Nope","class":"Record","args":["dup"]}');
  add('proto-key', '{"class":"Record","args":[1],"__proto__":{"polluted":true}}');
  add('proto-class', '{"class":"__proto__","args":[]}');
  add('constructor-class', '{"class":"constructor","args":[]}');
  add('lone-surrogate', '{"class":"Record","args":["\\ud800","\\udfff"]}');
  add('nul-in-string', '{"class":"Record","args":["a\\u0000b"]}');
  add('emoji', J({ class: 'Record', args: ['💥🧨', 'ü', '中文'] }));
  add('huge-number', '{"class":"Record","args":[1e400,-1e400,123456789012345678901234567890]}');
  add('ruby-float', '{"class":"Record","args":[1.0,2.50,1.0e+20]}');
  add('ruby-namespaced', '{"class":"MyApp::Jobs::Record","args":[{"id":1}]}');
  add(
    'ruby-activejob',
    J({
      class: 'ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper',
      wrapped: 'SomeJob',
      queue: 'fuzz',
      args: [{ job_class: 'SomeJob', job_id: 'c0ffee', arguments: [1, { _aj_symbol_keys: [] }] }],
    }),
  );
  add('ruby-unknown', '{"class":"Billing::Invoice","args":[99]}');
  add('pyres-dotted', '{"class":"myapp.jobs.Record","args":["py"],"queue":"fuzz","enqueue_timestamp":1700000000.25}');
  add('pyres-retry', '{"class":"jobs.Record","args":[],"retries":2,"first_attempt":1700000000}');
  add('pyres-unknown', '{"class":"tasks.Resize","args":[640,480],"queue":"fuzz"}');
  add('invalid-utf8-bare', Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]));
  add('invalid-utf8-in-arg', Buffer.concat([Buffer.from('{"class":"Record","args":["caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"]}')]));
  add('invalid-utf8-in-class', Buffer.concat([Buffer.from('{"class":"Rec'), Buffer.from([0xc0, 0xaf]), Buffer.from('ord","args":[]}')]));
  add('overlong-utf8', Buffer.concat([Buffer.from('{"class":"Record","args":["'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('"]}')]));
  add('nested-args-1k', `{"class":"Record","args":[${nested(1000, '[', ']', '1')}]}`);
  add('nested-args-100k', `{"class":"Record","args":[${nested(100000, '[', ']', '1')}]}`);
  add('nested-echo-100k', `{"class":"Echo","args":[${nested(100000, '{"a":', '}', '1')}]}`);
  add('nested-whole-array', nested(200000, '[', ']', ''));
  add('nested-whole-object', nested(50000, '{"a":', '}', 'null'));
  add('nested-unbalanced', '['.repeat(100000));
  add('huge-args-200k', `{"class":"Record","args":[${Array.from({ length: 200000 }, (_, i) => i).join(',')}]}`);
  add('huge-args-1m', `{"class":"Echo","args":[${'0,'.repeat(999999)}0]}`);
  add('big-10mb-arg', `{"class":"Record","args":[${J('x'.repeat(MB10))}]}`);
  add('big-10mb-unknown', `{"class":"Unknown","args":[${J('y'.repeat(MB10))}]}`);
  add('big-10mb-garbage', g.bytes(MB10));
  add('long-class-name', J({ class: 'C'.repeat(300000), args: [] }));
  for (const kind of ['error', 'type', 'string', 'null', 'undefined', 'object', 'number', 'nested-cause', 'long-message', 'async', 'no-stack']) {
    add(`throw-${kind}`, J({ class: 'Throw', args: [kind, 'x'] }));
  }
  for (const kind of ['stack-getter', 'bigint-message', 'cyclic-message']) add(`nasty-${kind}`, J({ class: 'Nasty', args: [kind] }));

  // -- random fill to ~300 --
  const shapes = ['bytes', 'bytes-json-prefix', 'cut-json', 'random-json', 'wrong-type', 'good', 'utf8-garbage-arg'] as const;
  while (items.length < 300) {
    const s = g.pick(shapes);
    if (s === 'bytes') add('rand-bytes', g.bytes(g.int(0, 3000)));
    else if (s === 'bytes-json-prefix') add('rand-json-prefix', Buffer.concat([Buffer.from('{"class":"Record","args":['), g.bytes(g.int(1, 200))]));
    else if (s === 'cut-json') {
      const full = J({ class: g.pick(['Record', 'Echo', 'Throw', 'X::Y']), args: [g.int(0, 1e6), 'abc', { k: [1, 2] }] });
      add('rand-cut-json', full.slice(0, g.int(0, full.length - 1)));
    } else if (s === 'random-json') {
      const v = (depth: number): unknown => {
        const t = g.int(0, depth > 3 ? 3 : 6);
        if (t === 0) return g.int(-1e9, 1e9);
        if (t === 1) return g.bytes(g.int(0, 20)).toString('latin1');
        if (t === 2) return g.pick([null, true, false]);
        if (t === 3) return g.next() * 1e6;
        if (t === 4) return Array.from({ length: g.int(0, 5) }, () => v(depth + 1));
        const o: Record<string, unknown> = {};
        for (let i = 0; i < g.int(0, 5); i++) o[g.pick(['class', 'args', 'queue', 'id', 'x'])] = v(depth + 1);
        return o;
      };
      add('rand-json', J(v(0)));
    } else if (s === 'wrong-type') {
      add('rand-wrong-type', J({ class: g.pick([1, null, [], {}, true, 'Record', 'Echo', '']), args: g.pick([[], {}, 'a', 1, null, [1, 2]]) }));
    } else if (s === 'utf8-garbage-arg') {
      add(
        'rand-utf8-garbage-arg',
        Buffer.concat([Buffer.from('{"class":"Record","args":["'), g.bytes(g.int(1, 64)).map(b => (b < 0x80 ? b | 0x80 : b)), Buffer.from('"]}')]),
      );
    } else {
      add('rand-good', J({ class: g.pick(['Record', 'Echo', 'app.Record', 'App::Record']), args: [g.int(0, 1e6), 'ok'] }));
    }
  }
  return items;
}

describe('poison and hostile input', () => {
  it(`a worker survives ~300 hostile items (seed ${SEED}); each ends as a success or a valid failure record; memory stays bounded`, async () => {
    const items = hostileItems(SEED);
    const N = items.length;
    await r.flushall();
    for (let i = 0; i < items.length; i += 50) {
      const p = r.pipeline().sadd(k('queues'), 'fuzz');
      for (const it of items.slice(i, i + 50)) p.rpush(k('queue:fuzz'), it.raw);
      await p.exec();
    }
    expect(await r.llen(k('queue:fuzz'))).toBe(N);

    const w = env.cli(['worker', '--queues', 'fuzz', '--jobs', CHAOS_JOBS, '--drain'], srv.url);
    let peakKb = 0;
    let samples = 0;
    while (!w.exited) {
      const m = memoryKb(w.pid);
      if (m) {
        peakKb = Math.max(peakKb, m.rss, m.hwm || 0);
        samples++;
      }
      await sleep(20);
    }
    const res = await w.waitForEnd(120000);
    const id = workerIdFor(w.pid, 'fuzz');

    // survived, drained and unregistered
    expect(res).toEqual({ code: 0, signal: null });
    expect(w.lines().some(l => /every queue is empty; --drain: stopping/.test(l))).toBe(true);
    expect(stackLines(w)).toEqual([]);
    expect(await r.llen(k('queue:fuzz'))).toBe(0);
    expect(await r.scard(k('workers'))).toBe(0);
    expect(await r.exists(k(`worker:${id}`))).toBe(0);

    // every item accounted for
    const processed = Number(await r.get(k('stat:processed')));
    const failedRaw = await r.lrangeBuffer(k('failed'), 0, -1);
    const successes = env.ledgerLines().filter(l => /^(ok|echo) /.test(l)).length;
    expect({ processed, accounted: successes + failedRaw.length }).toEqual({ processed: N, accounted: N });
    expect(Number(await r.get(k('stat:failed')))).toBe(failedRaw.length);

    // every failure record is something resque-web renders
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    const exceptions: Record<string, number> = {};
    for (const buf of failedRaw) {
      const text = utf8.decode(buf); // throws on invalid UTF-8: Ruby's JSON.parse would too
      const rec = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(rec)).toEqual(FAILURE_KEYS);
      expect(rec['failed_at']).toMatch(FAILED_AT_RE);
      expect(rec['worker']).toBe(id);
      expect(rec['queue']).toBe('fuzz');
      expect(typeof rec['exception']).toBe('string');
      expect((rec['exception'] as string).length).toBeGreaterThan(0);
      expect(typeof rec['error']).toBe('string');
      expect(Array.isArray(rec['backtrace'])).toBe(true);
      for (const f of rec['backtrace'] as unknown[]) expect(typeof f).toBe('string');
      expect(rec['payload']).not.toBeUndefined();
      exceptions[rec['exception'] as string] = (exceptions[rec['exception'] as string] ?? 0) + 1;
    }
    // the obviously bad ones really failed, as the right kind of failure
    expect(exceptions['PayloadDecodeError']).toBeGreaterThanOrEqual(20);
    expect(exceptions['UnknownJobClassError']).toBeGreaterThanOrEqual(5);

    // memory bounded
    expect(samples).toBeGreaterThan(5);
    expect({ peakMb: Math.round(peakKb / 1024), under: peakKb / 1024 < MEMORY_BOUND_MB }).toEqual({ peakMb: Math.round(peakKb / 1024), under: true });

    // PYRES_FUZZ_REPORT=file.json keeps the figures (for docs/RELIABILITY.md)
    const report = process.env['PYRES_FUZZ_REPORT'];
    if (report)
      fs.writeFileSync(
        report,
        JSON.stringify({ seed: SEED, items: N, successes, failures: failedRaw.length, exceptions, peakRssMb: Math.round(peakKb / 1024) }, null, 2),
      );
  }, 180000);

  it('a hostile item cannot flood the log: the worker writes well under 1 MB of log for a 300 KB class name and a 10 MB payload', async () => {
    await r.flushall();
    await r
      .pipeline()
      .sadd(k('queues'), 'fuzz')
      .rpush(k('queue:fuzz'), JSON.stringify({ class: 'C'.repeat(300000), args: [] }))
      .rpush(k('queue:fuzz'), `{"class":"Unknown","args":[${JSON.stringify('z'.repeat(MB10))}]}`)
      .rpush(k('queue:fuzz'), `not json ${'q'.repeat(MB10)}`)
      .exec();
    const w = env.cli(['worker', '--queues', 'fuzz', '--jobs', CHAOS_JOBS, '--drain'], srv.url);
    expect(await w.waitForEnd(60000)).toEqual({ code: 0, signal: null });
    expect(await r.llen(k('failed'))).toBe(3);
    // BUG (minor, src/errors.ts UnknownJobClassError / src/worker/worker.ts failureOutcome):
    // the unknown class name goes into the log line (and the failure's `error`) in full, so a
    // payload with a 300 KB "class" writes a 300 KB log line. preview() (200 chars) is used for
    // every other payload-derived message.
    const logBytes = Buffer.byteLength(w.stderr()) + Buffer.byteLength(w.stdout());
    const longest = Math.max(...w.lines().map(l => l.length));
    expect({ logBytesUnder1MB: logBytes < 1024 * 1024, longestLineUnder10KB: longest < 10 * 1024 }).toEqual({
      logBytesUnder1MB: true,
      longestLineUnder10KB: true,
    });
  }, 120000);
});
