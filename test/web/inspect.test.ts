/**
 * Issue 14's dashboard additions over HTTP, against two real redis-servers: the job and failure
 * detail views, failure search grouped by exception, the queue actions (clear, remove, delete
 * one job by its bytes) with their confirmation step and CSRF check, on every server.
 */
import { createHash } from 'node:crypto';
import { type Env, RUBY_FAILURES, Session, client, failureRecord, flashOf, seed, startEnv, stopEnv } from './helpers';

const sha1 = (s: string): string => createHash('sha1').update(s, 'utf8').digest('hex');
const unHtml = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#96;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

let env: Env;
beforeAll(async () => {
  env = await startEnv({ sampleHistory: false });
});
afterAll(() => stopEnv(env));
beforeEach(() => seed(env.a.url, env.b.url));

describe('a queued job', () => {
  it('has a detail view: class, args pretty-printed, other keys, the raw bytes', async () => {
    const raw = '{"class":"MixedJob","args":[1,"two",{"three":3}]}';
    const s = new Session(env.web.url);
    const r = await s.get(`/job?server=0&queue=p10&index=0&digest=${sha1(raw)}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('<h1>Job 0 in p10: MixedJob</h1>');
    expect(unHtml(r.text)).toContain(`<pre class="args pretty">${JSON.stringify([1, 'two', { three: 3 }], null, 2)}</pre>`);
    expect(unHtml(r.text)).toContain(`<pre class="raw">${raw}</pre>`);
    // the queue page links to it
    const q = await s.get('/queues/p10?server=0');
    expect(q.text).toContain(`href="/job?server=0&amp;queue=p10&amp;index=0&amp;digest=${sha1(raw)}"`);
  });

  it('is found by its digest after the queue moved, and is 404 once gone', async () => {
    const second = '{"class":"MixedJob","args":[2]}';
    const a = client(env.a.url);
    const s = new Session(env.web.url);
    await a.lpop('resque:queue:p10'); // a worker took the first: the second is now at 0
    let r = await s.get(`/job?server=0&queue=p10&index=1&digest=${sha1(second)}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('<h1>Job 0 in p10: MixedJob</h1>');
    await a.lpop('resque:queue:p10');
    r = await s.get(`/job?server=0&queue=p10&index=0&digest=${sha1(second)}`);
    expect(r.status).toBe(404);
    expect(r.text).toContain('a worker took it, or it was deleted');
    expect((await s.get('/job?server=0&queue=p10&index=0&digest=nothex')).status).toBe(400);
  });

  it('shows a payload that is not JSON as it is', async () => {
    const a = client(env.a.url);
    await a.rpush('resque:queue:p9', 'not json <b>');
    const s = new Session(env.web.url);
    const r = await s.get(`/job?server=0&queue=p9&index=0&digest=${sha1('not json <b>')}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('<pre class="raw">not json &lt;b&gt;</pre>');
    expect(r.text).toContain('(not a job)');
  });
});

describe('a failure', () => {
  it('has a detail view: payload, args, worker, times, exception, backtrace', async () => {
    const raw = RUBY_FAILURES[1] as string;
    const s = new Session(env.web.url);
    const r = await s.get(`/failure?server=0&index=1&digest=${sha1(raw)}`);
    expect(r.status).toBe(200);
    const t = unHtml(r.text);
    expect(t).toContain('<h1>Failure 1: FailingJob</h1>');
    expect(t).toContain('<code>vm:9203:p10,p9</code>');
    expect(t).toContain('datetime="2026-11-22T22:13:02.000Z"');
    expect(t).toContain('<code>ArgumentError</code>');
    expect(t).toContain('<pre>boom: ["f1"]</pre>');
    expect(t).toContain(`<pre class="args pretty">${JSON.stringify(['f1'], null, 2)}</pre>`);
    expect(t).toContain('<pre class="backtrace">/srv/app/common.rb:17:in `perform\'</pre>');
    expect(t).toContain(`<pre class="raw">${raw}</pre>`);
    // retry from the detail view; it is found again by its digest
    const done = await s.act('/failed/retry', { server: 0, index: 1, digest: sha1(raw), list: 'failed' });
    expect(flashOf(done.text)).toBe('ok: Retried failure 1: the job is back on p10.');
    expect(await client(env.a.url).lrange('resque:queue:p10', -1, -1)).toEqual(['{"class":"FailingJob","args":["f1"]}']);
    // the failed page links to the detail view
    const f = await s.get('/failed?server=0&show=all');
    expect(f.text).toContain(`href="/failure?server=0&amp;index=0&amp;digest=${sha1(RUBY_FAILURES[0] as string)}"`);
    expect((await s.get(`/failure?server=0&index=0&digest=${'0'.repeat(40)}`)).status).toBe(404);
  });
});

describe('a worker and the job it runs', () => {
  it('has a detail view: registration, counters, the current job with its args and since when', async () => {
    const s = new Session(env.web.url);
    const r = await s.get('/worker?server=0&id=vm%3A9413%3Ap9');
    expect(r.status).toBe(200);
    const t = unHtml(r.text);
    expect(t).toContain('<h1>Worker vm:9413</h1>');
    expect(t).toContain('<dt>Processed</dt><dd>7</dd>');
    expect(t).toContain('<dt>Failed</dt><dd>2</dd>');
    expect(t).toContain('<code>MixedJob</code>');
    expect(t).toContain('datetime="2026-11-22T22:13:31.000Z"');
    expect(t).toContain(`<pre class="args pretty">${JSON.stringify(['long-running'], null, 2)}</pre>`);
    // server B's child of a master, under its namespace
    const b = unHtml((await s.get('/worker?server=1&id=hostb%3A2001%3Aother')).text);
    expect(b).toContain('<a href="/masters#hostb:2000">hostb:2000</a>');
    // the workers page links to it; an unknown worker is 404
    expect((await s.get('/workers')).text).toContain('href="/worker?server=0&amp;id=vm%3A9413%3Ap9"');
    const gone = await s.get('/worker?server=0&id=nobody%3A1%3Ax');
    expect(gone.status).toBe(404);
    expect(gone.text).toContain('it stopped, or was pruned');
  });
});

describe('failure search', () => {
  beforeEach(async () => {
    await client(env.a.url).rpush(
      'resque:failed',
      failureRecord('Mailer', ['a@x'], 'mail', { exception: 'Net::ReadTimeout', error: 'timed out reading smtp.example' }),
      failureRecord('Mailer', ['b@x'], 'mail', { exception: 'Net::ReadTimeout', error: 'timed out' }),
      failureRecord('Billing', [7], 'p10', { exception: 'Stripe::CardError', error: 'card declined' }),
    );
  });

  const shown = (html: string): string[] => [...html.matchAll(/<code class="class">([^<]*)<\/code>/g)].map(m => m[1] as string);
  const groups = (html: string): Record<string, number> =>
    Object.fromEntries(
      [...html.matchAll(/<tr data-exception="([^"]*)"[^>]*><td>.*?<\/td><td class="num">(\d+)<\/td>/g)].map(m => [unHtml(m[1] as string), Number(m[2])]),
    );

  it('filters by class, exception, queue and text, and groups the matches by exception', async () => {
    const s = new Session(env.web.url);
    let r = await s.get('/failed?server=0&show=all&class=Mailer');
    expect(shown(r.text)).toEqual(['Mailer', 'Mailer']);
    expect(groups(r.text)).toEqual({ 'Net::ReadTimeout': 2 });
    r = await s.get('/failed?server=0&show=all&queue=p10');
    expect(shown(r.text)).toEqual(['Billing', 'FailingJob', 'FailingJob']);
    expect(groups(r.text)).toEqual({ ArgumentError: 2, 'Stripe::CardError': 1 });
    r = await s.get('/failed?server=0&show=all&exception=ArgumentError');
    expect(shown(r.text)).toEqual(['FailingJob', 'FailingJob', 'FailingJob']);
    // the groups count the other exceptions too, so one click switches
    expect(groups(r.text)).toEqual({ ArgumentError: 3, 'Net::ReadTimeout': 2, 'Stripe::CardError': 1 });
    expect(r.text).toContain('href="/failed?server=0&amp;show=all&amp;exception=Net%3A%3AReadTimeout"');
    r = await s.get('/failed?server=0&show=all&q=SMTP.EXAMPLE');
    expect(shown(r.text)).toEqual(['Mailer']);
    r = await s.get('/failed?server=0&show=all&class=Mailer&q=nothing-like-this');
    expect(shown(r.text)).toEqual([]);
    expect(r.text).toContain('No failed jobs in');
    // the search form keeps what was asked
    r = await s.get('/failed?server=0&show=all&class=Mailer&exception=Net%3A%3AReadTimeout');
    expect(r.text).toContain('<input name="class" value="Mailer"');
    expect(r.text).toContain('<input name="exception" value="Net::ReadTimeout"');
  });

  it('groups without a filter on request, and keeps the retried filter', async () => {
    const s = new Session(env.web.url);
    let r = await s.get('/failed?server=0&show=all');
    expect(r.text).toContain('Group by exception');
    expect(groups(r.text)).toEqual({});
    r = await s.get('/failed?server=0&show=all&groups=1');
    expect(groups(r.text)).toEqual({ ArgumentError: 3, 'Net::ReadTimeout': 2, 'Stripe::CardError': 1 });
    await s.act('/failed/retry', { server: 0, index: 3, list: 'failed' });
    r = await s.get('/failed?server=0&show=retried&class=Mailer');
    expect(shown(r.text)).toEqual(['Mailer']);
    r = await s.get('/failed?server=0&class=Mailer'); // pending (the default)
    expect(shown(r.text)).toEqual(['Mailer']);
  });

  it('searches server B (another namespace) the same', async () => {
    const s = new Session(env.web.url);
    const r = await s.get('/failed?server=1&show=all&exception=RuntimeError');
    expect(shown(r.text)).toEqual(['BFail']);
    expect(groups(r.text)).toEqual({ RuntimeError: 1 });
  });
});

describe('queue actions', () => {
  const confirmPage = (html: string): boolean => html.includes('<h1>Are you sure?</h1>') && html.includes('name="confirmed" value="yes"');

  it.each([
    ['/queues/clear', { server: 0, queue: 'p10' }],
    ['/queues/remove', { server: 0, queue: 'p10' }],
    ['/queues/delete-job', { server: 0, queue: 'p10', index: 0, digest: sha1('{"class":"MixedJob","args":[1,"two",{"three":3}]}') }],
  ] as Array<[string, Record<string, string | number>]>)('%s: refused without the CSRF token or cross-site, even confirmed', async (path, fields) => {
    const s = new Session(env.web.url);
    await s.get('/queues/p10');
    expect((await s.post(path, { ...fields, confirmed: 'yes', _csrf: null })).status).toBe(403);
    expect((await s.post(path, { ...fields, confirmed: 'yes', _csrf: '0'.repeat(64) })).status).toBe(403);
    expect((await s.post(path, { ...fields, confirmed: 'yes' }, { Origin: 'http://evil.example' })).status).toBe(403);
    // a GET is never the action (it reads as the page of a queue of that name)
    expect((await s.get(`${path}?server=0&queue=p10&confirmed=yes`)).text).not.toContain('flash ok');
    const a = client(env.a.url);
    expect(await a.llen('resque:queue:p10')).toBe(2);
    expect(await a.sismember('resque:queues', 'p10')).toBe(1);
  });

  it('clear: asks first (a page with a form), then empties the queue and keeps it listed', async () => {
    const s = new Session(env.web.url);
    await s.get('/queues/p10?server=0');
    const asked = await s.post('/queues/clear', { server: 0, queue: 'p10', back: '/queues/p10?server=0' });
    expect(asked.status).toBe(200);
    expect(confirmPage(asked.text)).toBe(true);
    expect(asked.text).toContain('Delete every job in p10 on 127.0.0.1:');
    expect(asked.text).toContain('(2 now)');
    expect(asked.text).toContain('<a href="/queues/p10?server=0">Cancel</a>');
    const a = client(env.a.url);
    expect(await a.llen('resque:queue:p10')).toBe(2);
    // the confirmation form carries the token and the fields
    const form = /<form method="post" action="\/queues\/clear" class="confirm">([\s\S]*?)<\/form>/.exec(asked.text)?.[1] ?? '';
    const fields = Object.fromEntries(
      [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(m => [m[1] as string, unHtml(m[2] as string)]),
    );
    expect(fields).toEqual({ _csrf: s.csrf, server: '0', queue: 'p10', back: '/queues/p10?server=0', confirmed: 'yes' });
    const r = await s.post('/queues/clear', fields);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/queues/p10?server=0');
    expect(flashOf((await s.get(r.location as string)).text)).toMatch(/^ok: Cleared p10 on 127\.0\.0\.1:\d+: 2 jobs deleted\.$/);
    expect(await a.exists('resque:queue:p10')).toBe(0);
    expect(await a.sismember('resque:queues', 'p10')).toBe(1);
  });

  it('remove: DEL and SREM, on server B under its namespace', async () => {
    const s = new Session(env.web.url);
    await s.get('/queues/other?server=1');
    const asked = await s.post('/queues/remove', { server: 1, queue: 'other' });
    expect(confirmPage(asked.text)).toBe(true);
    const r = await s.act('/queues/remove', { server: 1, queue: 'other', confirmed: 'yes', back: '/queues' });
    expect(flashOf(r.text)).toBe('ok: Removed the queue other from server-b (1 job deleted).');
    const b = client(env.b.url);
    expect(await b.exists('jobs:queue:other')).toBe(0);
    expect(await b.sismember('jobs:queues', 'other')).toBe(0);
    expect(await client(env.a.url).llen('resque:queue:p10')).toBe(2);
  });

  it("delete one job: LREM 1 of the job's exact bytes, found again when the queue moved; a duplicate stays", async () => {
    const a = client(env.a.url);
    const dup = '{"class":"MixedJob","args":[2]}';
    await a.rpush('resque:queue:p10', dup); // [first, dup, dup]
    const s = new Session(env.web.url);
    await s.get('/queues/p10?server=0');
    const asked = await s.post('/queues/delete-job', { server: 0, queue: 'p10', index: 1, digest: sha1(dup) });
    expect(confirmPage(asked.text)).toBe(true);
    expect(unHtml(asked.text)).toContain(dup);
    await a.lpop('resque:queue:p10'); // a worker takes the first job: dup is now at 0
    const r = await s.act('/queues/delete-job', { server: 0, queue: 'p10', index: 1, digest: sha1(dup), confirmed: 'yes', back: '/queues/p10?server=0' });
    expect(flashOf(r.text)).toMatch(/^ok: Deleted job \d \(MixedJob\) from p10 on 127\.0\.0\.1:\d+\.$/);
    expect(await a.lrange('resque:queue:p10', 0, -1)).toEqual([dup]);
    await a.del('resque:queue:p10');
    const gone = await s.act('/queues/delete-job', { server: 0, queue: 'p10', index: 0, digest: sha1(dup), confirmed: 'yes', back: '/queues/p10?server=0' });
    expect(flashOf(gone.text)).toMatch(/^error: job [0-9a-f]{12} is no longer in p10 on 127\.0\.0\.1:\d+ \(a worker took it, or it was deleted\)$/);
  });

  it('the queue page offers the actions with a confirm question for app.js', async () => {
    const s = new Session(env.web.url);
    const r = await s.get('/queues/p10?server=1');
    expect(r.text).toMatch(
      /<form method="post" action="\/queues\/clear" class="inline" data-confirm="Delete all 1 jobs in p10 on server-b\? The queue stays listed\.">/,
    );
    expect(r.text).toContain('action="/queues/remove"');
    expect(r.text).toContain(`name="digest" value="${sha1('{"class":"BJob","args":["b"]}')}"`);
  });
});

describe('the new pages escape what they show', () => {
  const XSS = '<script>window.__pwned=1</script>';
  it.each(['job', 'failure', 'search', 'confirm', 'worker'])('%s', async which => {
    const a = client(env.a.url);
    const job = JSON.stringify({ class: `C${XSS}`, args: [XSS, '"><img src=x onerror=alert(1)>'], extra: XSS });
    const failure = failureRecord(`F${XSS}`, [XSS], `q${XSS}`, { exception: `E${XSS}`, error: XSS, backtrace: [XSS] });
    await a.rpush('resque:queue:p9', job);
    await a.rpush('resque:failed', failure);
    const wid = `h${XSS}:1:p9`;
    await a.sadd('resque:workers', wid);
    await a.set(`resque:worker:${wid}`, JSON.stringify({ queue: `p9${XSS}`, run_at: '2026-11-22T22:13:31Z', payload: { class: `W${XSS}`, args: [XSS] } }));
    const s = new Session(env.web.url);
    await s.get('/queues/p9?server=0');
    const r =
      which === 'job'
        ? await s.get(`/job?server=0&queue=p9&index=0&digest=${sha1(job)}`)
        : which === 'failure'
          ? await s.get(`/failure?server=0&index=3&digest=${sha1(failure)}`)
          : which === 'worker'
            ? await s.get(`/worker?server=0&id=${encodeURIComponent(wid)}`)
            : which === 'search'
              ? await s.get(`/failed?server=0&show=all&q=${encodeURIComponent(XSS)}&exception=${encodeURIComponent(`E${XSS}`)}`)
              : await s.post('/queues/delete-job', { server: 0, queue: 'p9', index: 0, digest: sha1(job), back: `/queues/p9?x=${encodeURIComponent(XSS)}` });
    expect(r.status).toBe(200);
    expect(r.text).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(r.text).not.toContain('<script>window');
    expect(r.text).not.toContain('<img src=x');
    expect([...r.text.matchAll(/<script\b[^>]*>/g)].map(m => m[0])).toEqual(['<script src="/assets/app.js" defer>']);
  });
});
