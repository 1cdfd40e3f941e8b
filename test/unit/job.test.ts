import { PayloadDecodeError } from '../../src/errors';
import { decodeJob, encodeJob, isJson, preview } from '../../src/protocol/job';
import { list, loadKeys, readFixtureJson } from './fixtureData';

const rubyEnqueue = loadKeys('resque-ruby/a-enqueue/keys.json');
const rubyEncoding = loadKeys('resque-ruby/a2-json-encoding/keys.json');

describe('encodeJob: the bytes Resque.enqueue writes (a-enqueue)', () => {
  test('integer, string and hash args', () => {
    const p10 = list(rubyEnqueue, 'resque:queue:p10');
    expect(p10).toHaveLength(3);
    const ours = encodeJob('MixedJob', [1, 'two', { three: 3 }]);
    expect(ours).toBe('{"class":"MixedJob","args":[1,"two",{"three":3}]}');
    for (const captured of p10) expect(ours).toBe(captured);
  });

  test('no args gives "args":[]', () => {
    expect(encodeJob('MixedJob', [])).toBe(list(rubyEnqueue, 'resque:queue:p9')[0]);
  });

  test('strings, nil/true/false, nested arrays and hashes as Oj and the json gem write them (a2, the non-float part)', () => {
    // The captured args are [1.0, 2.5, 1.0e+20, 1.0e-05, 0.0, 2**64, nil, true, false, "ünïcødé ✓ 😀", ...].
    // JS cannot write the floats and the big integer that way, so compare from `null` to `"sym"`:
    // raw UTF-8, no escaping of / < > & ', \u0001 for control characters, short \n \t \\ escapes.
    for (const queue of ['resque:queue:enc_oj', 'resque:queue:enc_json_gem']) {
      const captured = list(rubyEncoding, queue)[0]!;
      const from = captured.indexOf('null,true,false,');
      const to = captured.indexOf(',{"nested"');
      expect(from).toBeGreaterThan(0);
      expect(to).toBeGreaterThan(from);
      const ours = encodeJob('EncJob', [null, true, false, 'ünïcødé ✓ 😀', `</script> & 'q' "dq"`, 'line\nbreak\ttab\\bs', '\u0001ctl', 'sym']);
      expect(ours).toBe(`{"class":"EncJob","args":[${captured.slice(from, to)}]}`);
    }
  });

  test('nested values and empty containers (a2, the tail; string keys only: JS puts integer-like keys first)', () => {
    expect(encodeJob('EncJob', [{ nested: [1, { x: null }] }, [], {}])).toBe('{"class":"EncJob","args":[{"nested":[1,{"x":null}]},[],{}]}');
    const captured = list(rubyEncoding, 'resque:queue:enc_oj')[0]!;
    expect(captured.endsWith(',[],{}]}')).toBe(true);
  });

  test('documented JS limit: 1.0 is written 1, so a2 cannot be reproduced byte for byte', () => {
    expect(encodeJob('EncJob', [1.0])).toBe('{"class":"EncJob","args":[1]}');
    expect(list(rubyEncoding, 'resque:queue:enc_oj')[0]!.startsWith('{"class":"EncJob","args":[1.0,')).toBe(true);
  });

  test('args that are not JSON are a PayloadDecodeError (BigInt, cycle)', () => {
    expect(() => encodeJob('X', [1n])).toThrow(PayloadDecodeError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeJob('X', [cyclic])).toThrow(PayloadDecodeError);
  });

  test('a function arg is a PayloadDecodeError, as documented (JSON.stringify would turn it into null)', () => {
    expect(() => encodeJob('X', [() => 1])).toThrow(PayloadDecodeError);
  });

  test('a class name must be a non-empty string; args must be an array', () => {
    expect(() => encodeJob('', [])).toThrow(PayloadDecodeError);
    expect(() => encodeJob(42 as unknown as string, [])).toThrow(PayloadDecodeError);
    expect(() => encodeJob('X', { 0: 1, length: 1 } as unknown as unknown[])).toThrow(PayloadDecodeError);
    expect(() => encodeJob('X', 'abc' as unknown as unknown[])).toThrow(PayloadDecodeError);
  });

  test('Ruby class names pass through verbatim', () => {
    expect(encodeJob('MyApp::Archive', ['a'])).toBe('{"class":"MyApp::Archive","args":["a"]}');
  });
});

describe('decodeJob', () => {
  test("Ruby's payloads (a-enqueue)", () => {
    for (const raw of [...list(rubyEnqueue, 'resque:queue:p10'), ...list(rubyEnqueue, 'resque:queue:p9')]) {
      const job = decodeJob(raw);
      expect(job.className).toBe('MixedJob');
      expect(job.raw).toBe(raw);
      expect(job.payload).toEqual(JSON.parse(raw));
    }
    expect(decodeJob(list(rubyEnqueue, 'resque:queue:p10')[0]!).args).toEqual([1, 'two', { three: 3 }]);
    expect(decodeJob(list(rubyEnqueue, 'resque:queue:p9')[0]!).args).toEqual([]);
  });

  test('a2: floats and a 2**64 integer decode, and raw keeps the exact bytes', () => {
    for (const queue of ['resque:queue:enc_oj', 'resque:queue:enc_json_gem']) {
      const raw = list(rubyEncoding, queue)[0]!;
      const job = decodeJob(raw);
      expect(job.className).toBe('EncJob');
      expect(job.raw).toBe(raw);
      expect(job.args).toHaveLength(17);
      expect(job.args[9]).toBe('ünïcødé ✓ 😀');
      expect(job.args[14]).toEqual({ nested: [1, { x: null }], 2: 'intkey' });
    }
  });

  test('Pinterest pyres: Python separators and a dotted module.Class name (a-enqueue-pinterest)', () => {
    const raw = list(loadKeys('pyres/a-enqueue-pinterest/keys.json'), 'resque:queue:p10')[0]!;
    expect(raw).toBe('{"class": "testjobs.Echo", "args": [1, "two", {"three": 3}]}');
    const job = decodeJob(raw);
    expect(job.className).toBe('testjobs.Echo');
    expect(job.args).toEqual([1, 'two', { three: 3 }]);
    expect(job.raw).toBe(raw);
  });

  test('upstream pyres: enqueue_timestamp is kept (a-enqueue-upstream)', () => {
    const raw = list(loadKeys('pyres/a-enqueue-upstream/keys.json'), 'resque:queue:p10')[0]!;
    const job = decodeJob(raw);
    expect(job.className).toBe('testjobs.Echo');
    expect(job.args).toEqual([1, 'two', { three: 3 }]);
    expect(job.payload).toEqual({ class: 'testjobs.Echo', args: [1, 'two', { three: 3 }], enqueue_timestamp: 1795385578.523513 });
  });

  test('pyres enqueue_from_string / scheduler: queue is kept (e1)', () => {
    const dump = loadKeys('pyres/e1-scheduler-delayed/keys-after-moves.json');
    const p9 = decodeJob(list(dump, 'resque:queue:p9')[0]!);
    expect(p9.className).toBe('testjobs.EchoP9');
    expect(p9.args).toEqual(['x']);
    expect(p9.payload['queue']).toBe('p9');
    for (const raw of list(dump, 'resque:queue:p10')) expect(decodeJob(raw).payload['queue']).toBe('p10');
  });

  test('pyres retry: first_attempt is kept (e2)', () => {
    const dump = loadKeys('pyres/e2-retry-every/keys-after-first-attempt.json');
    const [key] = Object.keys(dump).filter(k => k.startsWith('resque:delayed:'));
    const job = decodeJob(list(dump, key!)[0]!);
    expect(job.className).toBe('testjobs.Flaky');
    expect(job.payload).toEqual({ class: 'testjobs.Flaky', queue: 'p9', args: ['a'], first_attempt: '@D:2026-11-22T22:24:08' });
  });

  test('Python 2 key order (args before class; predicted, not captured)', () => {
    const predicted = readFixtureJson('pyres/py2-predicted-json-key-order.json') as { rendered_examples: Record<string, string> };
    for (const [name, raw] of Object.entries(predicted.rendered_examples)) {
      if (!name.includes('resque:queue') && !name.includes('resque:delayed')) continue;
      const job = decodeJob(raw);
      expect(job.className).toMatch(/^testjobs\./);
      expect(Array.isArray(job.args)).toBe(true);
      expect(job.raw).toBe(raw);
    }
  });

  test('pyres c3 items: module-less and unknown names decode; a missing args is []', () => {
    const { run } = readFixtureJson('pyres/c3-bad-payloads/payloads.json') as { run: string[] };
    expect(decodeJob(run[0]!).className).toBe('nosuchmodule.Foo');
    expect(decodeJob(run[1]!)).toMatchObject({ className: 'Echo', args: [1] });
    expect(decodeJob(run[2]!).className).toBe('testjobs.Nope');
    expect(run[3]).toBe('{"class": "testjobs.Echo"}');
    expect(decodeJob(run[3]!)).toMatchObject({ className: 'testjobs.Echo', args: [] });
    expect(() => decodeJob(run[4]!)).toThrow(PayloadDecodeError);
    expect(decodeJob(run[5]!).args).toEqual(['after-bad-json']);
  });

  test('args null is [] too (Ruby calls perform(*nil))', () => {
    expect(decodeJob('{"class":"X","args":null}').args).toEqual([]);
  });

  test('Ruby poison items from c6 and c7 are PayloadDecodeErrors', () => {
    const c6 = list(loadKeys('resque-ruby/c6-malformed-payload/keys-before.json'), 'resque:queue:p10');
    expect(c6[0]).toBe('not json {');
    expect(() => decodeJob(c6[0]!)).toThrow(PayloadDecodeError);
    const c7 = list(loadKeys('resque-ruby/c7-json-null-and-array-payloads/keys-before.json'), 'resque:queue:p10');
    expect(c7[0]).toBe('null');
    expect(c7[2]).toBe('[1,2]');
    expect(() => decodeJob(c7[0]!)).toThrow(PayloadDecodeError);
    expect(() => decodeJob(c7[2]!)).toThrow(PayloadDecodeError);
    expect(decodeJob(c7[1]!).args).toEqual(['after-null']);
  });

  test.each([
    ['non-JSON', 'not json {', /not JSON/],
    ['the empty string', '', /not JSON/],
    ['JSON null', 'null', /null/],
    ['a JSON array', '[1,2]', /array/],
    ['a JSON string', '"str"', /string/],
    ['a JSON number', '42', /number/],
    ['a JSON boolean', 'true', /boolean/],
    ['an object without class', '{"args":[1]}', /"class"/],
    ['an empty object', '{}', /"class"/],
    ['a numeric class', '{"class":1,"args":[]}', /"class"/],
    ['a null class', '{"class":null,"args":[]}', /"class"/],
    ['an empty class', '{"class":"","args":[]}', /"class"/],
    ['an object class', '{"class":{"name":"X"},"args":[]}', /"class"/],
    ['args as an object', '{"class":"X","args":{"a":1}}', /"args"/],
    ['args as a string', '{"class":"X","args":"a"}', /"args"/],
    ['args as a number', '{"class":"X","args":1}', /"args"/],
  ])('rejects %s with a PayloadDecodeError that says what is wrong', (_name, raw, message) => {
    let err: unknown;
    try {
      decodeJob(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PayloadDecodeError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('isJson and preview', () => {
  test('isJson is true for any JSON value', () => {
    for (const v of ['null', '[1,2]', '"s"', '0', '{"class":"X"}', ' {"a":1} ']) expect(isJson(v)).toBe(true);
    for (const v of ['', 'not json {', "{'a':1}", '{"a":1}x']) expect(isJson(v)).toBe(false);
  });

  test('preview quotes and cuts long payloads', () => {
    expect(preview('abc')).toBe('"abc"');
    const long = 'x'.repeat(300);
    expect(preview(long)).toBe(JSON.stringify(`${'x'.repeat(200)}... (300 chars)`));
  });
});
