import { PayloadDecodeError } from '../../src/errors';
import { decodeJob } from '../../src/protocol/job';
import { backtraceOf, decodeWorkingOn, embedPayload, encodeFailure, encodeWorkingOn, exceptionNameOf } from '../../src/protocol/records';
import type { FailureInput } from '../../src/protocol/records';
import { encodePoisonFailure, POISON_CLASS, poisonBytes, poisonPayload } from '../../src/protocol/records';
import { list, loadKeys, readFixtureJson, str } from './fixtureData';

interface FailureRecord {
  failed_at: string;
  payload: unknown;
  exception: string;
  error: string;
  backtrace: string[];
  worker: string;
  queue: string;
}

/** The a2 Oj payload: Ruby floats, 2**64, raw UTF-8; JSON.parse + stringify would change its bytes. */
const A2_RAW = list(loadKeys('resque-ruby/a2-json-encoding/keys.json'), 'resque:queue:enc_oj')[0]!;
const LOSSY_RAW = '{"class":"X","args":[1.0,18446744073709551616]}';

describe('encodeFailure: byte-exact resque:failed entries', () => {
  test('c-failing-job: the queue item becomes the captured failed entry', () => {
    const item = list(loadKeys('resque-ruby/c-failing-job/keys-before.json'), 'resque:queue:p10')[0]!;
    const captured = list(loadKeys('resque-ruby/c-failing-job/keys.json'), 'resque:failed')[0]!;
    const ours = encodeFailure({
      failedAt: '2026/11/22 22:11:32 UTC',
      rawPayload: item,
      exception: 'ArgumentError',
      error: 'boom: [1, "two", {"three"=>3}]',
      backtrace: ["/srv/app/common.rb:17:in `perform'"],
      worker: 'vm:8210:p10,p9',
      queue: 'p10',
    });
    expect(ours).toBe(captured);
    expect(ours).toBe(
      '{"failed_at":"2026/11/22 22:11:32 UTC","payload":{"class":"FailingJob","args":[1,"two",{"three":3}]},"exception":"ArgumentError","error":"boom: [1, \\"two\\", {\\"three\\"=>3}]","backtrace":["/srv/app/common.rb:17:in `perform\'"],"worker":"vm:8210:p10,p9","queue":"p10"}',
    );
  });

  test('c3: Resque::DirtyExit with an empty backtrace, for each killed job', () => {
    const items = list(loadKeys('resque-ruby/c3-dirty-exit-usr1-term/keys-before.json'), 'resque:queue:p10');
    const captured = list(loadKeys('resque-ruby/c3-dirty-exit-usr1-term/keys.json'), 'resque:failed');
    const cases: Array<[string, string, number]> = [
      [items[0]!, '2026/11/22 22:11:46 UTC', 8396],
      [items[1]!, '2026/11/22 22:11:47 UTC', 8444],
    ];
    cases.forEach(([item, failedAt, childPid], i) => {
      expect(
        encodeFailure({
          failedAt,
          rawPayload: item,
          exception: 'Resque::DirtyExit',
          error: `Child process received unhandled signal pid ${childPid} SIGKILL (signal 9)`,
          backtrace: [],
          worker: 'vm:8389:p10,p9',
          queue: 'p10',
        }),
      ).toBe(captured[i]);
    });
  });

  test("d-prune-dead-workers: a pruned worker's job, payload taken from its worker:<id> record", () => {
    const before = loadKeys('resque-ruby/d-prune-dead-workers/keys-before.json');
    const captured = list(loadKeys('resque-ruby/d-prune-dead-workers/keys.json'), 'resque:failed');
    const expired = 'otherhost:12345:p10,p9';
    const deadPid = 'vm:999991:p10,p9';
    const expiredJob = decodeWorkingOn(str(before, `resque:worker:${expired}`))!;
    const deadJob = decodeWorkingOn(str(before, `resque:worker:${deadPid}`))!;
    expect(
      encodeFailure({
        failedAt: '2026/11/22 22:12:19 UTC',
        rawPayload: expiredJob.rawPayload,
        exception: 'Resque::PruneDeadWorkerDirtyExit',
        error: `Worker ${expired} did not gracefully exit while processing MixedJob`,
        backtrace: [],
        worker: expired,
        queue: expiredJob.queue,
      }),
    ).toBe(captured[0]);
    expect(
      encodeFailure({
        failedAt: '2026/11/22 22:12:19 UTC',
        rawPayload: deadJob.rawPayload,
        exception: 'Resque::DirtyExit',
        error: 'Job still being processed',
        backtrace: [],
        worker: deadPid,
        queue: deadJob.queue,
      }),
    ).toBe(captured[1]);
  });

  test('every Ruby failed entry in the captures re-encodes to the same bytes (field order, escaping, multi-line errors)', () => {
    const entries = [
      'resque-ruby/c-failing-job/keys.json',
      'resque-ruby/c2-unknown-class/keys.json',
      'resque-ruby/c3-dirty-exit-usr1-term/keys.json',
      'resque-ruby/c7-json-null-and-array-payloads/keys.json',
      'resque-ruby/d-prune-dead-workers/keys.json',
    ].flatMap(rel => list(loadKeys(rel), 'resque:failed'));
    expect(entries).toHaveLength(7);
    for (const captured of entries) {
      const r = JSON.parse(captured) as FailureRecord;
      const input: FailureInput = {
        failedAt: r.failed_at,
        // these payloads hold only integers and ASCII strings, so compact JSON.stringify is Ruby's bytes
        rawPayload: JSON.stringify(r.payload),
        exception: r.exception,
        error: r.error,
        backtrace: r.backtrace,
        worker: r.worker,
        queue: r.queue,
      };
      expect(encodeFailure(input)).toBe(captured);
    }
  });

  test('c7: an array payload is embedded as JSON, as Ruby wrote it', () => {
    const captured = list(loadKeys('resque-ruby/c7-json-null-and-array-payloads/keys.json'), 'resque:failed')[0]!;
    expect(captured).toContain('"payload":[1,2],');
    expect(
      encodeFailure({
        failedAt: '2026/11/22 22:21:05 UTC',
        rawPayload: '[1,2]',
        exception: 'TypeError',
        error: 'no implicit conversion of String into Integer',
        backtrace: [],
        worker: 'vm:13119:p10',
        queue: 'p10',
      }),
    ).toBe(captured);
  });

  const base: Omit<FailureInput, 'rawPayload'> = {
    failedAt: '2026/11/22 22:11:32 UTC',
    exception: 'PayloadDecodeError',
    error: 'bad',
    backtrace: [],
    worker: 'vm:1:p10',
    queue: 'p10',
  };

  test('the raw payload is embedded byte for byte (Ruby floats, 2**64, pyres spacing, UTF-8)', () => {
    for (const raw of [LOSSY_RAW, A2_RAW, '{"class": "testjobs.Echo", "args": [1, "two", {"three": 3}]}']) {
      const rec = encodeFailure({ ...base, rawPayload: raw });
      expect(rec).toBe(
        `{"failed_at":"2026/11/22 22:11:32 UTC","payload":${raw},"exception":"PayloadDecodeError","error":"bad","backtrace":[],"worker":"vm:1:p10","queue":"p10"}`,
      );
      expect(() => JSON.parse(rec)).not.toThrow();
    }
  });

  test('a non-JSON payload is embedded as a JSON string', () => {
    const rec = encodeFailure({ ...base, rawPayload: 'not json {' });
    expect(rec).toContain('"payload":"not json {",');
    expect((JSON.parse(rec) as FailureRecord).payload).toBe('not json {');
    expect(encodeFailure({ ...base, rawPayload: '' })).toContain('"payload":"",');
  });

  test('embedPayload: raw when JSON, a JSON string otherwise', () => {
    expect(embedPayload(LOSSY_RAW)).toBe(LOSSY_RAW);
    expect(embedPayload('null')).toBe('null');
    expect(embedPayload('not json {')).toBe('"not json {"');
    expect(embedPayload('x"y', false)).toBe('"x\\"y"');
  });
});

describe('encodeWorkingOn: byte-exact resque:worker:<id> values', () => {
  test('b-worker-success: the captured value while the job ran', () => {
    const item = list(loadKeys('resque-ruby/b-worker-success/keys-before.json'), 'resque:queue:p10')[0]!;
    const captured = str(loadKeys('resque-ruby/b-worker-success/keys-during-job.json'), 'resque:worker:vm:7652:p10,p9');
    expect(encodeWorkingOn('p10', '2026-11-22T22:10:47Z', item)).toBe(captured);
    expect(captured).toBe('{"queue":"p10","run_at":"2026-11-22T22:10:47Z","payload":{"class":"MixedJob","args":[1,"two",{"three":3}]}}');
  });

  test('c3 (after USR1): the second job', () => {
    const items = list(loadKeys('resque-ruby/c3-dirty-exit-usr1-term/keys-before.json'), 'resque:queue:p10');
    const captured = str(loadKeys('resque-ruby/c3-dirty-exit-usr1-term/keys-after-usr1.json'), 'resque:worker:vm:8389:p10,p9');
    expect(encodeWorkingOn('p10', '2026-11-22T22:11:46Z', items[1]!)).toBe(captured);
  });

  test('the raw payload is embedded byte for byte', () => {
    expect(encodeWorkingOn('p10', '2026-11-22T22:10:47Z', LOSSY_RAW)).toBe(`{"queue":"p10","run_at":"2026-11-22T22:10:47Z","payload":${LOSSY_RAW}}`);
    expect(encodeWorkingOn('enc_oj', '2026-11-22T22:10:47Z', A2_RAW)).toBe(`{"queue":"enc_oj","run_at":"2026-11-22T22:10:47Z","payload":${A2_RAW}}`);
    const pyres = '{"class": "testjobs.Echo", "args": [1, "two", {"three": 3}]}';
    expect(encodeWorkingOn('p10', '2026-11-22T22:10:47Z', pyres)).toBe(`{"queue":"p10","run_at":"2026-11-22T22:10:47Z","payload":${pyres}}`);
  });

  test('non-JSON, null and an array are embedded as JSON strings (resque-web reads payload["class"])', () => {
    expect(encodeWorkingOn('p10', '2026-11-22T22:21:05Z', 'not json {')).toBe('{"queue":"p10","run_at":"2026-11-22T22:21:05Z","payload":"not json {"}');
    expect(encodeWorkingOn('p10', '2026-11-22T22:21:05Z', 'null')).toBe('{"queue":"p10","run_at":"2026-11-22T22:21:05Z","payload":"null"}');
    const ours = encodeWorkingOn('p10', '2026-11-22T22:21:05Z', '[1,2]');
    expect(ours).toBe('{"queue":"p10","run_at":"2026-11-22T22:21:05Z","payload":"[1,2]"}');
    // a deliberate difference from Ruby, which wrote the array as is (c7)
    const ruby = str(loadKeys('resque-ruby/c7-json-null-and-array-payloads/keys.json'), 'resque:worker:vm:13119:p10');
    expect(ruby).toBe('{"queue":"p10","run_at":"2026-11-22T22:21:05Z","payload":[1,2]}');
    expect(ours).not.toBe(ruby);
  });

  test('a queue name with characters JSON escapes', () => {
    expect(encodeWorkingOn('a"b', '2026-11-22T22:10:47Z', '{}')).toBe('{"queue":"a\\"b","run_at":"2026-11-22T22:10:47Z","payload":{}}');
  });
});

describe('decodeWorkingOn', () => {
  test("Ruby's record keeps the payload's bytes (b-worker-success)", () => {
    const item = list(loadKeys('resque-ruby/b-worker-success/keys-before.json'), 'resque:queue:p10')[0]!;
    const w = decodeWorkingOn(str(loadKeys('resque-ruby/b-worker-success/keys-during-job.json'), 'resque:worker:vm:7652:p10,p9'));
    expect(w).toEqual({ queue: 'p10', runAt: new Date('2026-11-22T22:10:47Z'), rawPayload: item });
  });

  test("Ruby's record with an array payload (c7)", () => {
    const w = decodeWorkingOn(str(loadKeys('resque-ruby/c7-json-null-and-array-payloads/keys.json'), 'resque:worker:vm:13119:p10'));
    expect(w).toEqual({ queue: 'p10', runAt: new Date('2026-11-22T22:21:05Z'), rawPayload: '[1,2]' });
  });

  test('pyres worker record: Python separators, run_at an epoch string (b2)', () => {
    const value = str(loadKeys('pyres/b2-worker-default-lpop-backoff/keys-during-job.json'), 'resque:worker:vm:10689:p10,p9');
    expect(value).toBe('{"queue": "p10", "run_at": "1795385768", "payload": {"class": "testjobs.Slow", "args": [4]}}');
    const w = decodeWorkingOn(value)!;
    expect(w.queue).toBe('p10');
    expect(w.runAt?.getTime()).toBe(1795385768_000);
    expect(JSON.parse(w.rawPayload)).toEqual({ class: 'testjobs.Slow', args: [4] });
    expect(decodeJob(w.rawPayload).className).toBe('testjobs.Slow');
  });

  test('pyres minion record: run_at an epoch integer (b3)', () => {
    const value = str(loadKeys('pyres/b3-manager-nonblocking-minion-backoff/keys-during-job.json'), 'resque:minion:vm:11258:p10,p9');
    const w = decodeWorkingOn(value)!;
    expect(w.queue).toBe('p10');
    expect(w.runAt?.getTime()).toBe(1795385840_000);
    expect(JSON.parse(w.rawPayload)).toEqual({ class: 'testjobs.Slow', args: [4] });
  });

  test('Python 2 key order (queue, payload, run_at; predicted, not captured)', () => {
    const predicted = readFixtureJson('pyres/py2-predicted-json-key-order.json') as { rendered_examples: Record<string, string> };
    const worker = predicted.rendered_examples['Worker.working_on -> resque:worker:<id> value']!;
    const minion = predicted.rendered_examples['Minion.working_on -> resque:minion:<id> value']!;
    const w = decodeWorkingOn(worker)!;
    expect(w.queue).toBe('p10');
    expect(w.runAt?.getTime()).toBe(1795385639_000);
    expect(JSON.parse(w.rawPayload)).toEqual({ class: 'testjobs.Echo', args: [1, 'two', { three: 3 }] });
    const m = decodeWorkingOn(minion)!;
    expect(m.runAt?.getTime()).toBe(1795385978_000);
    expect(JSON.parse(m.rawPayload)).toEqual({ class: 'testjobs.Echo', args: [1, 'two', { three: 3 }] });
  });

  test('round trip with encodeWorkingOn gives back the raw bytes', () => {
    for (const raw of [LOSSY_RAW, A2_RAW, 'not json {', '[1,2]', 'null', '"str"', '', ' {"class":"X"}', '{"class": "testjobs.Echo", "args": []}']) {
      const w = decodeWorkingOn(encodeWorkingOn('p10', '2026-11-22T22:10:47Z', raw));
      expect(w).toEqual({ queue: 'p10', runAt: new Date('2026-11-22T22:10:47Z'), rawPayload: raw });
    }
    expect(decodeWorkingOn(encodeWorkingOn('a"b', '2026-11-22T22:10:47Z', '{}'))?.queue).toBe('a"b');
  });

  test('records missing queue or run_at (resque-web W5/W6 shapes)', () => {
    expect(decodeWorkingOn('{"run_at":"2026-11-22T22:10:47Z","payload":{"class":"X","args":[]}}')).toEqual({
      queue: '',
      runAt: new Date('2026-11-22T22:10:47Z'),
      rawPayload: '{"class":"X","args":[]}',
    });
    expect(decodeWorkingOn('{"queue":"p10","payload":{"class":"X","args":[]}}')).toEqual({ queue: 'p10', runAt: null, rawPayload: '{"class":"X","args":[]}' });
  });

  test.each([
    ['non-JSON (resque-web W4)', 'not json'],
    ['the empty string (resque-web W7)', ''],
    ['JSON null', 'null'],
    ['an array', '[1,2]'],
    ['a string', '"x"'],
  ])('null for %s', (_name, value) => {
    expect(decodeWorkingOn(value)).toBeNull();
  });
});

describe('backtraceOf and exceptionNameOf', () => {
  const withStack = (stack: string | undefined): Error => {
    const e = new Error('boom');
    Object.defineProperty(e, 'stack', { value: stack });
    return e;
  };
  const STACK = [
    'Error: boom',
    '    at Archive.perform (/app/jobs/archive.js:10:11)',
    '    at async Promise.all (index 0)',
    '    at invoke (/app/node_modules/pyres-ts/dist/jobs/registry.js:120:5)',
    '    at Worker.run (/app/node_modules/pyres-ts/dist/worker/worker.js:50:3)',
  ].join('\n');

  test('frames without the leading "at ", cut before the first frame containing cutAt', () => {
    expect(backtraceOf(withStack(STACK), 'pyres-ts/dist/')).toEqual(['Archive.perform (/app/jobs/archive.js:10:11)', 'async Promise.all (index 0)']);
  });

  test('no cut when cutAt is absent or not found; max limits the count', () => {
    expect(backtraceOf(withStack(STACK))).toHaveLength(4);
    expect(backtraceOf(withStack(STACK), 'nowhere')).toHaveLength(4);
    expect(backtraceOf(withStack(STACK), undefined, 1)).toEqual(['Archive.perform (/app/jobs/archive.js:10:11)']);
  });

  test('always an array: [] without a stack or frames', () => {
    expect(backtraceOf(withStack(undefined))).toEqual([]);
    expect(backtraceOf(withStack('Error: no frames'))).toEqual([]);
    expect(JSON.stringify(backtraceOf(withStack(undefined)))).toBe('[]');
  });

  test('a real error: the first frame is in this file', () => {
    const frames = backtraceOf(new Error('real'));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames[0]).toContain('records.test.ts');
    for (const f of frames) expect(f.startsWith('at ')).toBe(false);
  });

  test('exceptionNameOf gives the class name', () => {
    class ArchiveFailed extends Error {}
    const named = new Error('x');
    named.name = 'Resque::DirtyExit';
    expect(exceptionNameOf(new TypeError('x'))).toBe('TypeError');
    expect(exceptionNameOf(new RangeError('x'))).toBe('RangeError');
    expect(exceptionNameOf(new Error('x'))).toBe('Error');
    expect(exceptionNameOf(new ArchiveFailed('x'))).toBe('ArchiveFailed');
    expect(exceptionNameOf(new PayloadDecodeError('x'))).toBe('PayloadDecodeError');
    expect(exceptionNameOf(named)).toBe('Resque::DirtyExit');
  });
});

describe('poison records (issue 10, items 7 and 8)', () => {
  const base = { failedAt: '2026/11/22 22:11:32 UTC', exception: 'PayloadDecodeError', error: 'bad', backtrace: [], worker: 'vm:1:p10', queue: 'p10' };
  test('a text item: raw as text, raw_base64 its bytes, Ruby key order', () => {
    const rec = encodePoisonFailure({ ...base, rawBytes: Buffer.from('[1,"é"]') });
    expect(rec).toBe(
      `{"failed_at":"2026/11/22 22:11:32 UTC","payload":{"class":"PyresTs::PoisonItem","args":[{"raw":"[1,\\"é\\"]","raw_base64":"${Buffer.from('[1,"é"]').toString('base64')}"}]},` +
        '"exception":"PayloadDecodeError","error":"bad","backtrace":[],"worker":"vm:1:p10","queue":"p10"}',
    );
    expect(poisonBytes((JSON.parse(rec) as { payload: unknown }).payload)).toEqual(Buffer.from('[1,"é"]'));
  });
  test('bytes that are not UTF-8: raw null, the record is UTF-8, the bytes come back exactly', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xe9, 0x00, 0x22]);
    const rec = encodePoisonFailure({ ...base, rawBytes: bytes });
    expect(Buffer.from(rec, 'utf8').toString('utf8')).toBe(rec);
    const p = (JSON.parse(rec) as { payload: { class: string; args: Array<{ raw: unknown }> } }).payload;
    expect([p.class, p.args[0]!.raw]).toEqual([POISON_CLASS, null]);
    expect(poisonBytes(p)).toEqual(bytes);
    expect(poisonPayload(bytes)).toBe(JSON.stringify(p));
  });
  test('poisonBytes is null for anything else', () => {
    for (const p of [null, 'x', [1], { class: 'Echo', args: [{ raw_base64: 'AA==' }] }, { class: POISON_CLASS, args: [] }]) expect(poisonBytes(p)).toBeNull();
  });
});
