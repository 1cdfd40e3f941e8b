import { jsonPieces } from '../../src/cli/jsonOut';

/** JSON.stringify with a string limit of `max` characters, as V8's (~512 MB) but small. */
const limited =
  (max: number) =>
  (v: unknown, r?: null, space?: number): string | undefined => {
    const s = JSON.stringify(v, r, space);
    if (s !== undefined && s.length > max) throw new RangeError('Invalid string length');
    return s;
  };

describe('jsonPieces (--json output past the string limit)', () => {
  it('a value that fits: one piece, exactly JSON.stringify(value, null, 2)', () => {
    const v = { servers: [{ server: 'a', items: [{ raw: '{"class":"J"}', n: 1 }] }] };
    expect(jsonPieces(v, limited(1000))).toEqual([JSON.stringify(v, null, 2)]);
    expect(jsonPieces(v)).toEqual([JSON.stringify(v, null, 2)]);
  });

  it('past the limit: pieces that each fit and, joined with newlines, parse back to the value', () => {
    const big = 'x'.repeat(60);
    const v = {
      servers: [
        {
          server: 'a',
          ok: true,
          items: [{ raw: `{"class":"Big","args":["${big}"]}`, payload: { class: 'Big', args: [big] }, skip: undefined }, { raw: '{}' }],
        },
        { server: 'b', ok: false, error: 'down' },
      ],
      list: [1, undefined, 'two'],
    };
    const pieces = jsonPieces(v, limited(100));
    expect(pieces.length).toBeGreaterThan(1);
    // Each piece is one member's JSON that fit, with its key and comma.
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(100 + '"payload":,'.length);
    // As JSON.stringify writes it: undefined members left out, an array's undefined as null.
    expect(JSON.parse(pieces.join('\n'))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it('one string alone past the limit is the RangeError it is', () => {
    expect(() => jsonPieces({ raw: 'y'.repeat(200) }, limited(100))).toThrow(RangeError);
  });
});
