import { compactJson, digest, markRetried, objectMembers, requeueJob, viewFailure } from '../../src/admin/failures';
import { isRetried } from '../../src/admin/admin';

const RUBY =
  '{"failed_at":"2026/11/22 22:13:02 UTC","payload":{"class":"FailingJob","args":["f0"]},"exception":"ArgumentError",' +
  '"error":"boom: [\\"f0\\"]","backtrace":["/srv/app/common.rb:17:in `perform\'"],"worker":"vm:9203:p10,p9","queue":"p10"}';
const AT = '2026/11/22 22:13:03 UTC';

describe('markRetried', () => {
  it('appends retried_at as the last key and keeps every other byte (Ruby requeue, e2 fixture)', () => {
    expect(markRetried(RUBY, AT)).toBe(RUBY.slice(0, -1) + ',"retried_at":"2026/11/22 22:13:03 UTC"}');
  });

  it('replaces an existing retried_at in place, as a Ruby Hash update does', () => {
    const once = markRetried(RUBY, AT) as string;
    const withTail = once.slice(0, -1) + ',"extra":1}';
    expect(markRetried(withTail, '2027/01/01 00:00:00 UTC')).toBe(withTail.replace(AT, '2027/01/01 00:00:00 UTC'));
  });

  it('keeps pyres spacing and escapes, and handles trailing whitespace and empty objects', () => {
    const py = '{"failed_at": "2026/11/22 22:13:02", "payload": {"class": "jobs.Archive", "args": [1.0, "\\u00e9"]}, "queue": "q"}  ';
    expect(markRetried(py, AT)).toBe(
      '{"failed_at": "2026/11/22 22:13:02", "payload": {"class": "jobs.Archive", "args": [1.0, "\\u00e9"]}, "queue": "q","retried_at":"2026/11/22 22:13:03 UTC"}  ',
    );
    expect(markRetried('{}', AT)).toBe('{"retried_at":"2026/11/22 22:13:03 UTC"}');
    expect(markRetried('[1]', AT)).toBeNull();
    expect(markRetried('not json', AT)).toBeNull();
    expect(markRetried('"a string"', AT)).toBeNull();
  });

  it('is not fooled by braces and quotes inside strings', () => {
    const tricky = '{"error":"}\\"{,\\\\","queue":"q","payload":{"class":"A","args":["}"]}}';
    const out = markRetried(tricky, AT) as string;
    expect(JSON.parse(out)).toEqual({ ...(JSON.parse(tricky) as object), retried_at: AT });
    expect(out.startsWith(tricky.slice(0, -1))).toBe(true);
  });
});

describe('requeueJob', () => {
  it('builds {"class","args"} like Ruby: extra payload keys dropped, compact', () => {
    expect(requeueJob(RUBY)).toEqual({ ok: true, queue: 'p10', className: 'FailingJob', job: '{"class":"FailingJob","args":["f0"]}' });
    const py = '{"payload": {"class": "jobs.Archive", "args": [1.0, 18446744073709551616, {"a": "\\u00e9 \\/"}], "enqueue_timestamp": 1.5}, "queue": "q"}';
    expect(requeueJob(py)).toEqual({
      ok: true,
      queue: 'q',
      className: 'jobs.Archive',
      job: '{"class":"jobs.Archive","args":[1.0,18446744073709551616,{"a":"é /"}]}',
    });
  });

  it('treats missing or null args as [] (Ruby splats nil)', () => {
    expect(requeueJob('{"payload":{"class":"A"},"queue":"q"}')).toMatchObject({ ok: true, job: '{"class":"A","args":[]}' });
    expect(requeueJob('{"payload":{"class":"A","args":null},"queue":"q"}')).toMatchObject({ ok: true, job: '{"class":"A","args":[]}' });
  });

  it('refuses records that Ruby would crash on or that name no job', () => {
    expect(requeueJob('{"payload":"not json bytes","queue":"q"}')).toMatchObject({ ok: false });
    expect(requeueJob('{"payload":[1,2],"queue":"q"}')).toMatchObject({ ok: false });
    expect(requeueJob('{"payload":{"args":[]},"queue":"q"}')).toMatchObject({ ok: false, reason: expect.stringContaining('class') });
    expect(requeueJob('{"payload":{"class":"A","args":{"x":1}},"queue":"q"}')).toMatchObject({ ok: false });
    expect(requeueJob('{"payload":{"class":"A","args":[]}}')).toMatchObject({ ok: false, reason: expect.stringContaining('queue') });
    expect(requeueJob('garbage')).toMatchObject({ ok: false });
  });
});

describe('helpers', () => {
  it('compactJson keeps number tokens and re-escapes strings as JSON.stringify does', () => {
    expect(compactJson(' [ 1.0 , 1e20 ,-0.0, "a\\u0001\\n\\"" , { "k" : null } ] ')).toBe('[1.0,1e20,-0.0,"a\\u0001\\n\\"",{"k":null}]');
    expect(() => compactJson('[1,')).toThrow();
  });

  it('objectMembers finds top-level keys only', () => {
    const o = objectMembers('{"a":{"retried_at":1},"b":[1,{"c":2}]}');
    expect(o?.members.map(m => m.key)).toEqual(['a', 'b']);
  });

  it('isRetried and viewFailure read every writer', () => {
    expect(isRetried(RUBY)).toBe(false);
    expect(isRetried(markRetried(RUBY, AT) as string)).toBe(true);
    expect(isRetried('{"retried_at":null}')).toBe(false);
    const v = viewFailure(RUBY);
    expect(v).toMatchObject({
      parsed: true,
      className: 'FailingJob',
      args: '["f0"]',
      queue: 'p10',
      worker: 'vm:9203:p10,p9',
      retryable: true,
      failedAtIso: '2026-11-22T22:13:02.000Z',
    });
    expect(viewFailure('{"failed_at":1795385541,"payload":null,"backtrace":"a\\nb"}')).toMatchObject({ parsed: true, backtrace: ['a', 'b'], retryable: false });
    expect(viewFailure('nope').parsed).toBe(false);
    expect(digest('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});
