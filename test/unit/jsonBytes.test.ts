import { decodeJob } from '../../src/protocol/job';
import { compactWorkingOn, jobClassOfBytes, topLevelMembers, valueEnd } from '../../src/protocol/jsonBytes';
import { decodeWorkingOn, embeddedPayloadBytes, encodeWorkingOn } from '../../src/protocol/records';
import { loadKeys, str } from './fixtureData';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/** decodeJob's class, or null where it throws: what jobClassOfBytes must agree with. */
function decodeJobClass(raw: string): string | null {
  try {
    return decodeJob(raw).className;
  } catch {
    return null;
  }
}

describe('compactWorkingOn: a worker:<id> record read from its bytes', () => {
  test("Ruby Resque 3.0's captured record (b-worker-success): queue, run_at and the payload's exact bytes", () => {
    const value = str(loadKeys('resque-ruby/b-worker-success/keys-during-job.json'), 'resque:worker:vm:7652:p10,p9');
    const c = compactWorkingOn(b(value))!;
    expect(c.queue).toBe('p10');
    expect(c.runAt).toBe('2026-11-22T22:10:47Z');
    expect(c.payload.toString('utf8')).toBe('{"class":"MixedJob","args":[1,"two",{"three":3}]}');
    expect(c.isString).toBe(false);
    expect(jobClassOfBytes(c.payload)).toBe('MixedJob');
  });

  test("Pyres' spaced form is not the compact form (decodeWorkingOn reads it as text)", () => {
    const value = str(loadKeys('pyres/b2-worker-default-lpop-backoff/keys-during-job.json'), 'resque:worker:vm:10689:p10,p9');
    expect(compactWorkingOn(b(value))).toBeNull();
    expect(embeddedPayloadBytes(b(value))).toBeNull();
    expect(decodeWorkingOn(value)?.queue).toBe('p10');
  });

  test('agrees with decodeWorkingOn on the records pyres-ts writes, escapes and non-object payloads included', () => {
    const payloads = [
      '{"class":"A","args":[]}',
      '{"args":[{"class":"Inner"}],"class":"Outer"}',
      '{"class":"Ü\\u00fc \\"q\\"","args":["}]{["]}',
      '  {"class":"Spaced" , "args" : [ 1 , 2 ] }',
      '[1,2]',
      'not json',
      '"a string"',
      'null',
    ];
    for (const raw of payloads) {
      const value = encodeWorkingOn('q "x" \\ é', '2026-12-02T01:00:00Z', raw);
      const c = compactWorkingOn(b(value))!;
      const w = decodeWorkingOn(value)!;
      expect(c.queue).toBe(w.queue);
      expect(c.queue).toBe('q "x" \\ é');
      expect(c.runAt).toBe('2026-12-02T01:00:00Z');
      if (c.isString) expect(JSON.parse(c.payload.toString('utf8'))).toBe(w.rawPayload);
      else expect(c.payload.toString('utf8')).toBe(w.rawPayload);
    }
  });

  test('a truncated or foreign record is null, never a throw', () => {
    for (const v of [
      '',
      '{',
      '{"queue":',
      '{"queue":"q"',
      '{"queue":"q","run_at":"x","payload":',
      '{"queue":"q,"run_at":"t","payload":{}}',
      '{"run_at":"t","queue":"q","payload":{}}',
    ]) {
      expect(compactWorkingOn(b(v))).toBeNull();
    }
  });

  test('bytes that are not UTF-8 stay as they are in the payload view', () => {
    const value = Buffer.concat([b('{"queue":"q","run_at":"t","payload":{"class":"B","args":["'), Buffer.from([0xff, 0xfe]), b('"]}}')]);
    const c = compactWorkingOn(value)!;
    const start = value.indexOf('"payload":') + '"payload":'.length;
    expect(Buffer.compare(c.payload, value.subarray(start, value.length - 1))).toBe(0);
    expect([...c.payload.subarray(-5, -3)]).toEqual([0xff, 0xfe]);
    expect(jobClassOfBytes(c.payload)).toBe('B');
  });

  test('a 12 MB payload is a view: no copy of it is made', () => {
    const big = `{"class":"Big","args":["${'x'.repeat(12 * 1024 * 1024)}"]}`;
    const value = b(encodeWorkingOn('q', 't', big));
    const c = compactWorkingOn(value)!;
    expect(c.payload.buffer).toBe(value.buffer);
    expect(c.payload.length).toBe(Buffer.byteLength(big));
    expect(jobClassOfBytes(c.payload)).toBe('Big');
  });
});

describe('jobClassOfBytes: the class decodeJob finds, read from bytes', () => {
  const cases = [
    '{"class":"A","args":[1]}',
    '{"class":"A"}',
    '{"class":"A","args":null}',
    '{"args":[1],"class":"Late"}',
    '{"class":"First","class":"Second","args":[]}',
    '{"class":"","args":[]}',
    '{"class":7,"args":[]}',
    '{"class":"A","args":{"0":1}}',
    '{"class":"A","args":"x"}',
    '{"args":[],"meta":{"class":"Nested"}}',
    '{"klass":"A"}',
    '{"class":"Esc\\u0041\\n","args":[]}',
    '{}',
    '[]',
    '"x"',
    '{"class":"A","args":[}',
    '{"class":"A" "args":[]}',
    '{"class":"A","args":[]} trailing',
  ];
  test.each(cases)('%s', raw => {
    expect(jobClassOfBytes(b(raw))).toBe(decodeJobClass(raw));
  });
});

describe('valueEnd and topLevelMembers', () => {
  test('strings with escaped quotes and brackets inside are skipped whole', () => {
    const s = b('["a\\"]", {"b": "}"}, 3] rest');
    expect(valueEnd(s, 0)).toBe(s.indexOf(' rest'));
  });
  test('members map to their exact value bytes', () => {
    const s = b('{ "a" : 1.0 , "b":{"c":[true,null]}, "d":"\\u00e9" }');
    const m = topLevelMembers(s)!;
    expect([...m.keys()]).toEqual(['a', 'b', 'd']);
    const at = (k: string): string => s.toString('utf8', m.get(k)!.start, m.get(k)!.end);
    expect(at('a')).toBe('1.0');
    expect(at('b')).toBe('{"c":[true,null]}');
    expect(at('d')).toBe('"\\u00e9"');
  });
  test('an unterminated value is null', () => {
    expect(topLevelMembers(b('{"a":"open'))).toBeNull();
    expect(topLevelMembers(b('{"a":[1,2'))).toBeNull();
    expect(valueEnd(b('"no end'), 0)).toBe(-1);
  });
});
