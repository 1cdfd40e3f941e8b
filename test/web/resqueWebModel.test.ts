/**
 * The resque-web model (test/support/resqueWeb.ts) against what real resque-web 3.0 did: every
 * failed-list variant captured in f2-resque-web-tolerance (status and exception class of
 * /failed), and the job Failure.requeue(0) pushed in e2-failure-ops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedPage, requeueAll, requeueRecord } from '../support/resqueWeb';

const FIX = join(__dirname, '..', '..', 'fixtures', 'resque-ruby');
interface Variant {
  variant: string;
  seed: Record<string, string>;
  results: Array<{ path: string; status: number; error: string | null }>;
}
const f2 = JSON.parse(readFileSync(join(FIX, 'f2-resque-web-tolerance', 'results.json'), 'utf8')) as { failed_entry_variants: Variant[] };
type Dump = Record<string, { type: string; value: string[] }>;
const e2 = (name: string): Dump => (JSON.parse(readFileSync(join(FIX, 'e2-failure-ops', name), 'utf8')) as { keys: Dump }).keys;

describe('the model agrees with every captured /failed result', () => {
  it.each(f2.failed_entry_variants.map(v => [v.variant, v] as const))('%s', (_name, v) => {
    const want = v.results.find(x => x.path === '/failed')!;
    const got = failedPage([v.seed['resque:failed[0]']!]);
    expect(got.status).toBe(want.status);
    if (got.status === 500) expect(want.error?.startsWith(`${got.error.rubyClass} - `)).toBe(true);
  });
  it('covers both outcomes', () => {
    const statuses = new Set(f2.failed_entry_variants.map(v => v.results.find(x => x.path === '/failed')!.status));
    expect([...statuses].sort()).toEqual([200, 500]);
  });
});

it('requeue(0) pushes what Ruby pushed (e2)', () => {
  const before = e2('keys-before.json')['resque:failed']!.value;
  const after = e2('keys-after-requeue-0.json');
  expect(requeueRecord(before[0]!)).toEqual({ queue: 'p10', job: after['resque:queue:p10']!.value[0] });
  expect(requeueAll(before).error).toBeNull();
});

it("the records of today's poison items break it as the issue says", () => {
  const rec = (payload: string): string =>
    `{"failed_at":"2026/11/22 22:11:32 UTC","payload":${payload},"exception":"PayloadDecodeError","error":"x","backtrace":[],"worker":"vm:1:q","queue":"q"}`;
  for (const p of ['[1,2]', '5', 'true']) expect(failedPage([rec(p)]).status).toBe(500);
  for (const p of ['"not json {"', 'null', '"a string"']) {
    expect(failedPage([rec(p)]).status).toBe(200);
    expect(requeueAll([rec('{"class":"A","args":[]}'), rec(p)])).toMatchObject({ pushed: [{ queue: 'q' }], error: expect.anything() });
  }
});
