import { changedNumbers, decodeArgs, hasNumberIn, parseLossless, pyresDate, rawArgsOf, revivePyresDates } from '../../src/protocol/args';
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
