import { changedNumbers, decodeArgs, hasNumberIn, mayChangeNumbers, parseLossless, pyresDate, rawArgsOf, revivePyresDates } from '../../src/protocol/args';
import { PayloadDecodeError } from '../../src/errors';
import { compactJsonText, decodeJob, encodeJobArgsText } from '../../src/protocol/job';

const MIXED = '{"class":"MixedJob","args":[9007199254740993,1.0,{"a":1,"2":"x"},-12345678901234567890,0.5,"9007199254740993"]}';

describe('compactJsonText: whitespace dropped, nothing re-encoded', () => {
  test.each([
    ['9007199254740993', '9007199254740993'],
    [' 1.0 ', '1.0'],
    ['{ "a" : 1 , "2" : "x" }', '{"a":1,"2":"x"}'],
    ['[1.0e+20,\n\t-0.0]', '[1.0e+20,-0.0]'],
    ['"  spaced \\" string  "', '"  spaced \\" string  "'],
    ['"\\u00e9\\/"', '"\\u00e9\\/"'],
    ['{"k":"a\\\\"  ,  "j" :[ ]}', '{"k":"a\\\\","j":[]}'],
    ['"é ✓"', '"é ✓"'],
  ])('%s', (input, out) => {
    expect(compactJsonText(input)).toBe(out);
  });

  test('not JSON: SyntaxError', () => {
    expect(() => compactJsonText('hello')).toThrow(SyntaxError);
    expect(() => compactJsonText('{"a":1')).toThrow(SyntaxError);
    expect(() => compactJsonText('')).toThrow(SyntaxError);
  });

  test('encodeJobArgsText keeps the args as written', () => {
    expect(encodeJobArgsText('MixedJob', '[9007199254740993, 1.0, {"a": 1, "2": "x"}]')).toBe(
      '{"class":"MixedJob","args":[9007199254740993,1.0,{"a":1,"2":"x"}]}',
    );
    expect(() => encodeJobArgsText('X', '{"a":1}')).toThrow(/must be a JSON array/);
    expect(() => encodeJobArgsText('X', '[1,')).toThrow(PayloadDecodeError);
    expect(() => encodeJobArgsText('', '[]')).toThrow(/class name/);
  });
});

describe('decodeArgs', () => {
  const job = decodeJob(MIXED);

  test("default: plain JSON.parse (today's values)", () => {
    const d = decodeArgs(MIXED, job.payload, { lossless: false, pyresDates: false });
    expect(d.args).toEqual([9007199254740992, 1, { 2: 'x', a: 1 }, -12345678901234567000, 0.5, '9007199254740993']);
  });

  test('lossless: unsafe integers as BigInt, everything else a number; 1.0 is 1', () => {
    const d = decodeArgs(MIXED, job.payload, { lossless: true, pyresDates: false });
    expect(d.args[0]).toBe(9007199254740993n);
    expect(d.args[1]).toBe(1);
    expect(d.args[2]).toEqual({ a: 1, 2: 'x' });
    expect(d.args[3]).toBe(-12345678901234567890n);
    expect(d.args[4]).toBe(0.5);
    expect(d.args[5]).toBe('9007199254740993');
    expect(d.payload['class']).toBe('MixedJob');
    expect(typeof parseLossless('[9007199254740991]') && (parseLossless('[9007199254740991]') as unknown[])[0]).toBe(9007199254740991);
  });

  test('lossless: duplicate keys, the last wins (as JSON.parse); __proto__ stays an own key', () => {
    const p = parseLossless('{"a":1,"a":2,"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(p['a']).toBe(2);
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  test('pyres dates: @D: strings anywhere become local Dates; other strings stay', () => {
    const raw =
      '{"class":"mod.Job","args":["@D:2026-01-02T03:04:05",{"when":["@D:2026-12-31T23:59:59"]},"@D:nope","@D:2026-02-30T00:00:00"],"first_attempt":"@D:2026-01-02T03:04:05"}';
    const d = decodeArgs(raw, decodeJob(raw).payload, { lossless: false, pyresDates: true });
    expect(d.args[0]).toEqual(new Date(2026, 0, 2, 3, 4, 5));
    // a naive local time, as pyres reads it: 03:04:05 on this machine's clock
    expect((d.args[0] as Date).getHours()).toBe(3);
    expect((d.args[1] as { when: Date[] }).when[0]).toEqual(new Date(2026, 11, 31, 23, 59, 59));
    expect(d.args[2]).toBe('@D:nope');
    expect(d.args[3]).toBe('@D:2026-02-30T00:00:00');
    expect(d.payload['first_attempt']).toEqual(new Date(2026, 0, 2, 3, 4, 5));
    const both = decodeArgs(raw, decodeJob(raw).payload, { lossless: true, pyresDates: true });
    expect(both.args[0]).toEqual(new Date(2026, 0, 2, 3, 4, 5));
  });

  test('pyresDate / revivePyresDates edge cases', () => {
    expect(pyresDate('@D:2026-13-01T00:00:00')).toBeNull();
    expect(pyresDate('@D:2026-01-01T00:00:00Z')).toBeNull();
    const o = JSON.parse('{"__proto__":"@D:2026-01-02T03:04:05"}') as Record<string, unknown>;
    revivePyresDates(o);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(o, '__proto__')?.value).toEqual(new Date(2026, 0, 2, 3, 4, 5));
  });

  test('lossless mode on text it cannot read: PayloadDecodeError', () => {
    expect(() => parseLossless('[1,')).toThrow(PayloadDecodeError);
  });
});

describe('changedNumbers / rawArgsOf', () => {
  test('the numbers JSON.parse changes', () => {
    expect(changedNumbers('[9007199254740993,1.0,0.1,9007199254740992,-0,1e20,1.0e+20]')).toEqual(['9007199254740993']);
    expect(changedNumbers('[0.1000000000000000055511151231257827,1e400,1e-400]')).toEqual(['0.1000000000000000055511151231257827', '1e400', '1e-400']);
    expect(changedNumbers('["9007199254740993 in a string"]')).toEqual([]);
    expect(changedNumbers('[1,2,3]')).toEqual([]);
  });

  test('hasNumberIn: a number anywhere in the parsed args, and none in strings only', () => {
    expect(hasNumberIn(JSON.parse('["x", {"a": ["b", {"c": "9007199254740993"}]}, [], {}, null, true]'))).toBe(false);
    expect(hasNumberIn(JSON.parse('["x", {"a": ["b", {"c": 0}]}]'))).toBe(true);
    expect(hasNumberIn(JSON.parse('[[[[1e400]]]]'))).toBe(true);
    expect(hasNumberIn(JSON.parse('[]'))).toBe(false);
    expect(hasNumberIn(5)).toBe(true);
    // Every args text changedNumbers flags parses to something hasNumberIn finds.
    for (const t of ['[9007199254740993]', '[{"a":[0.1000000000000000055511151231257827]}]', '[1e-400]']) {
      expect(changedNumbers(t)).not.toEqual([]);
      expect(hasNumberIn(JSON.parse(t))).toBe(true);
    }
  });

  test('lossless mode: integers are kept; floats can still change', () => {
    expect(changedNumbers('[9007199254740993,0.1000000000000000055511151231257827]', true)).toEqual(['0.1000000000000000055511151231257827']);
  });

  test('rawArgsOf: the exact args span', () => {
    expect(rawArgsOf(MIXED)).toBe('[9007199254740993,1.0,{"a":1,"2":"x"},-12345678901234567890,0.5,"9007199254740993"]');
    expect(rawArgsOf('{"args": [ 1.0 ] , "class": "X"}')).toBe('[ 1.0 ]');
    expect(rawArgsOf('{"class":"X"}')).toBe('[]');
    expect(rawArgsOf('not json')).toBe('[]');
  });
});

describe('mayChangeNumbers: numbers outside strings only', () => {
  // The old whole-text pre-check, applied to the text with every string literal emptied.
  const blankStrings = (t: string): string => t.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const oldCheck = (t: string): boolean => /\d[\d.]{15}|[eE][+-]?\d{3}/.test(t);

  it.each([
    ['[12345678901234567]', true],
    ['[1.0000000000000001]', true],
    ['[1e400]', true],
    ['[-2E-308]', true],
    ['[12345, "x"]', false],
    ['["12345678901234567"]', false],
    ['["1e400", 3]', false],
    ['["a\\"12345678901234567", 1]', false],
    ['["a\\\\", 12345678901234567]', true],
    ['["\\\\\\"", 1e400]', true],
    [`[${JSON.stringify('9'.repeat(10240))}, 42]`, false],
    [`[${JSON.stringify('x'.repeat(10240))}, 90071992547409930]`, true],
    ['{"id":1,"big":123456789012345678}', true],
    ['["unterminated 12345678901234567', false],
  ])('%s -> %s', (text, want) => {
    expect(mayChangeNumbers(text)).toBe(want);
  });

  it('agrees with the whole-text check once strings are emptied, on generated JSON', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [
      '1',
      '0.5',
      '12345678901234567',
      '1e400',
      '-3.25E-300',
      '"a"',
      '"9999999999999999999"',
      '"q\\"1e500"',
      '"\\\\"',
      'true',
      'null',
      '"é1e999"',
    ];
    const value = (depth: number): string => {
      if (depth > 2 || rnd(3) === 0) return pieces[rnd(pieces.length)]!;
      const items = Array.from({ length: rnd(4) }, () => value(depth + 1));
      return rnd(2) === 0 ? `[${items.join(',')}]` : `{${items.map((v, i) => `"k${i}":${v}`).join(',')}}`;
    };
    let positives = 0;
    for (let i = 0; i < 2000; i++) {
      const text = `[${value(0)},${value(0)}]`;
      JSON.parse(text);
      const want = oldCheck(blankStrings(text));
      if (want) positives += 1;
      expect([text, mayChangeNumbers(text)]).toEqual([text, want]);
    }
    // Both answers occur, so the comparison means something.
    expect(positives).toBeGreaterThan(100);
    expect(positives).toBeLessThan(1900);
  });
});
