/**
 * Every page and every action of `pyres-ts web`, over HTTP, against two real redis-servers:
 * A (namespace resque) and B (namespace jobs, labelled server-b).
 */
import { type Env, MASTER_ID, RUBY_FAILURES, Session, client, failureItems, failureRecord, flashOf, seed, startEnv, stopEnv } from './helpers';

let env: Env;
let s: Session;
let labelA: string;

beforeAll(async () => {
  env = await startEnv();
  labelA = `127.0.0.1:${env.a.port}`;
});
afterAll(() => stopEnv(env));
beforeEach(async () => {
  await seed(env.a.url, env.b.url);
  s = new Session(env.web.url);
});

/** The cells of the table row whose first cell (or data attribute) matches. */
function row(html: string, attr: string): string {
  const i = html.indexOf(attr);
  if (i < 0) throw new Error(`no row with ${attr}`);
  return html.slice(i, html.indexOf('</tr>', i));
}

describe('pages', () => {
  it('overview: every server, the union of queues with a per-server breakdown, who is working', async () => {
    const r = await s.get('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.text).toContain(`<td>${labelA}</td>`);
    expect(r.text).toContain('<td>server-b</td><td><code>jobs</code></td>');
    // p10 is on both servers: 2 + 1
    expect(row(r.text, 'data-queue="p10"')).toMatch(/class="num total">3<\/td><td class="num" data-server="0">2<\/td><td class="num" data-server="1">1<\/td>/);
    expect(row(r.text, 'data-queue="other"')).toMatch(
      /total">1<\/td><td class="num" data-server="0"><span class="muted">—<\/span><\/td><td class="num" data-server="1">1</,
    );
    expect(row(r.text, 'data-queue="p9"')).toContain('total">0<');
    expect(r.text).toContain('2 of 3 workers working');
    expect(r.text).toContain('<a href="/worker?server=0&amp;id=vm%3A9413%3Ap9" title="vm:9413:p9">vm:9413</a>');
    expect(r.text).toContain('<code>MixedJob</code>');
    expect(r.text).toContain('<code>OtherJob</code>');
    expect(r.text).toContain('id="live-chart"');
    expect(r.text).not.toContain('down-notice');
    // failed counts per server link to that server's failed page
    expect(row(r.text, '<tr data-server="0">')).toContain('<a href="/failed?server=0">3</a>');
    expect(row(r.text, '<tr data-server="1">')).toContain('<a href="/failed?server=1">1</a>');
  });

  it('queues: union of names, total and per-server columns', async () => {
    const r = await s.get('/queues');
    expect(r.status).toBe(200);
    expect(r.text).toContain(`<th class="num">${labelA}</th><th class="num">server-b</th>`);
    const names = [...r.text.matchAll(/<tr data-queue="([^"]+)">/g)].map(m => m[1]);
    expect(names).toEqual(['other', 'p10', 'p9']);
  });

  it('a queue: per-server tabs and a paginated peek of payloads', async () => {
    const a = client(env.a.url);
    for (let i = 0; i < 23; i++) await a.rpush('resque:queue:p10', `{"class":"Bulk","args":[${i},1.0]}`);
    let r = await s.get('/queues/p10');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<b>26</b> jobs in <code>p10</code> on all servers');
    expect(r.text).toMatch(/href="\/queues\/p10\?server=0" class="current" aria-current="page">127\.0\.0\.1:\d+ <span class="count">25<\/span>/);
    expect(r.text).toContain('<span class="count">1</span>');
    expect((r.text.match(/<tr data-index="\d+" data-digest="[0-9a-f]{40}"><td class="num">/g) ?? []).length).toBe(20);
    expect(r.text).toContain('{&quot;class&quot;:&quot;MixedJob&quot;,&quot;args&quot;:[1,&quot;two&quot;,{&quot;three&quot;:3}]}');
    expect(r.text).toContain('href="/queues/p10?server=0&amp;start=20"');
    r = await s.get('/queues/p10?server=0&start=20');
    expect((r.text.match(/<tr data-index="\d+" data-digest="[0-9a-f]{40}"><td class="num">/g) ?? []).length).toBe(5);
    expect(r.text).toContain('{&quot;class&quot;:&quot;Bulk&quot;,&quot;args&quot;:[22,1.0]}');
    r = await s.get('/queues/p10?server=1');
    expect(r.text).toContain('{&quot;class&quot;:&quot;BJob&quot;,&quot;args&quot;:[&quot;b&quot;]}');
    r = await s.get('/queues/nope');
    expect(r.status).toBe(200);
    expect(r.text).toContain('No jobs in nope');
  });

  it('workers: host, pid, queues, started, current job and since, stats, master', async () => {
    const r = await s.get('/workers');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<b>3</b> workers, <b>2</b> working.');
    const busy = row(r.text, 'data-worker="vm:9413:p9"');
    expect(busy).toContain(`<td>${labelA}</td><td><a href="/worker?server=0&amp;id=vm%3A9413%3Ap9">vm</a></td><td class="num">9413</td>`);
    expect(busy).toContain('href="/queues/p9?server=0">p9</a>');
    expect(busy).toContain('2026-11-22 22:13:30 +0000');
    expect(busy).toContain('<code>MixedJob</code> from');
    expect(busy).toContain('2026-11-22T22:13:31Z');
    expect(busy).toContain('<td class="num">7</td><td class="num">2</td>');
    expect(busy).toContain('<span class="muted">—</span></td>'); // no master
    const idle = row(r.text, 'data-worker="vm:9414:p8,p7"');
    expect(idle).toContain('p8</a> <a class="queue-tag" href="/queues/p7?server=0">p7</a>');
    expect(idle).toContain('<span class="muted">idle</span>');
    const child = row(r.text, 'data-worker="hostb:2001:other"');
    expect(child).toContain('<td>server-b</td><td><a href="/worker?server=1&amp;id=hostb%3A2001%3Aother">hostb</a></td><td class="num">2001</td>');
    expect(child).toContain(`<a href="/masters#${MASTER_ID}">${MASTER_ID}</a>`);
  });

  it('masters: groups, children, autoscale state, and the controls', async () => {
    const r = await s.get('/masters');
    expect(r.status).toBe(200);
    expect(r.text).toContain(`<section class="master" id="${MASTER_ID}"`);
    expect(r.text).toContain('on server-b');
    expect(r.text).toContain('<td><code>other</code></td><td class="num">1</td><td class="num">1</td><td>1..4</td>');
    expect(r.text).toContain('<code>hostb:2001:other</code>');
    expect(r.text).toContain('<td class="num">42</td>');
    expect(r.text).toContain(
      'Autoscale: CPU cap 80%, memory cap 90%, every 10s. Last decision: 2026-11-22T22:05:00.000Z other: 2 -&gt; 1 (queues are empty and children idle)',
    );
    expect(r.text).toContain('<button type="submit">Pause</button>');
    expect(r.text).toContain('name="count" min="0" max="1000" value="1"');
  });

  it('failed: per-server tabs, newest first, paginated, filters', async () => {
    const a = client(env.a.url);
    for (let i = 0; i < 22; i++) await a.rpush('resque:failed', failureRecord('Many', [i], 'p10'));
    let r = await s.get('/failed');
    expect(r.status).toBe(200);
    // server A has failures: selected by default; newest (index 24) first
    expect(r.text).toMatch(/class="current" aria-current="page">127\.0\.0\.1:\d+ <span class="count">25<\/span>/);
    let items = failureItems(r.text);
    expect(items.map(x => x.index)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5]);
    expect(r.text).toContain('href="/failed?server=0&amp;start=20"');
    r = await s.get('/failed?server=0&start=20');
    items = failureItems(r.text);
    expect(items.map(x => x.index)).toEqual([4, 3, 2, 1, 0]);
    expect(r.text).toContain('<code class="class">FailingJob</code>');
    expect(r.text).toContain('boom: [&quot;f0&quot;]');
    expect(r.text).toContain('<pre class="args">[&quot;f0&quot;]</pre>');
    expect(r.text).toContain('/srv/app/common.rb:17:in &#96;perform&#39;');
    r = await s.get('/failed?server=0&order=asc');
    expect(
      failureItems(r.text)
        .slice(0, 3)
        .map(x => x.index),
    ).toEqual([0, 1, 2]);
    r = await s.get('/failed?server=1');
    expect(failureItems(r.text).map(x => x.index)).toEqual([0]);
    expect(r.text).toContain('<code class="class">BFail</code>');
    r = await s.get('/failed?server=9');
    expect(r.status).toBe(404);
  });

  it('stats: per-server numbers, totals, Redis info; /api/live sums', async () => {
    const r = await s.get('/stats');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/<tr><th>Processed \(stat:processed\)<\/th><td class="num">10<\/td><td class="num">5<\/td><td class="num total">15<\/td><\/tr>/);
    expect(r.text).toMatch(
      /Failed lists \(LLEN failed \+ each &lt;queue&gt;_failed\)<\/th><td class="num">3<\/td><td class="num">1<\/td><td class="num total">4</,
    );
    expect(r.text).toMatch(/<tr><th>Redis version<\/th><td class="num">\d+\.\d+/);
    const live = await fetch(`${env.web.url}/api/live`);
    expect(live.headers.get('content-type')).toMatch(/application\/json/);
    const j = (await live.json()) as { processed: number; failed: number; servers: Array<{ ok: boolean; label: string }> };
    expect(j.processed).toBe(15);
    expect(j.failed).toBe(4);
    expect(j.servers.map(x => [x.label, x.ok])).toEqual([
      [labelA, true],
      ['server-b', true],
    ]);
  });

  it('assets, redirects and not-found', async () => {
    const css = await fetch(`${env.web.url}/assets/app.css`);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    const js = await fetch(`${env.web.url}/assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toContain('live-chart');
    expect((await s.get('/overview')).status).toBe(301);
    const nf = await s.get('/nope');
    expect(nf.status).toBe(404);
    expect(nf.text).toContain('No page at /nope.');
  });
});

describe('failure actions', () => {
  it('retry: Ruby requeue bytes (retried_at appended, job pushed), the record leaves the not-retried list', async () => {
    const a = client(env.a.url);
    await s.get('/failed?server=0');
    const [first] = failureItems((await s.get('/failed?server=0&order=asc')).text);
    expect(first?.index).toBe(0);
    const r = await s.act('/failed/retry', { server: 0, index: 0, digest: first!.digest, back: '/failed?server=0' });
    expect(flashOf(r.text)).toBe('ok: Retried failure 0: the job is back on p10.');
    const rec = await a.lindex('resque:failed', 0);
    expect(rec).toMatch(/^.*"queue":"p10","retried_at":"\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC"}$/);
    expect(rec?.replace(/,"retried_at":"[^"]+"}$/, '}')).toBe(RUBY_FAILURES[0]);
    expect(await a.lrange('resque:queue:p10', 0, -1)).toEqual([
      '{"class":"MixedJob","args":[1,"two",{"three":3}]}',
      '{"class":"MixedJob","args":[2]}',
      '{"class":"FailingJob","args":["f0"]}',
    ]);
    expect(await a.llen('resque:failed')).toBe(3);
    // default view: not-retried only; the retried one is under "Retried"
    expect(failureItems(r.text).map(x => x.index)).toEqual([2, 1]);
    const retried = await s.get('/failed?server=0&show=retried');
    expect(failureItems(retried.text)).toEqual([{ index: 0, digest: expect.any(String), retried: true }]);
    expect(retried.text).toContain('Retry again');
    const all = await s.get('/failed?server=0&show=all');
    expect(failureItems(all.text).map(x => x.index)).toEqual([2, 1, 0]);
  });

  it('retry and remove act on the record that was shown, even after its index moved', async () => {
    const a = client(env.a.url);
    const items = failureItems((await s.get('/failed?server=0&order=asc')).text);
    const f2 = items.find(x => x.index === 2)!;
    // Someone else removes record 0: f2 is now at index 1.
    await a.lset('resque:failed', 0, '');
    await a.lrem('resque:failed', 1, '');
    let r = await s.act('/failed/retry', { server: 0, index: 2, digest: f2.digest });
    expect(flashOf(r.text)).toBe('ok: Retried failure 1: the job is back on p9.');
    expect(await a.lrange('resque:queue:p9', 0, -1)).toEqual(['{"class":"FailingJob","args":["f2"]}']);
    // A stale digest is refused, nothing changes.
    r = await s.act('/failed/remove', { server: 0, index: 0, digest: f2.digest.replace(/^./, c => (c === '0' ? '1' : '0')) });
    expect(flashOf(r.text)).toMatch(/^error: failure 0 \([0-9a-f]+\) on 127\.0\.0\.1:\d+ is gone/);
    expect(await a.llen('resque:failed')).toBe(2);
    // Remove the f1 record by its digest.
    const f1 = failureItems((await s.get('/failed?server=0&show=all&order=asc')).text)[0]!;
    r = await s.act('/failed/remove', { server: 0, index: f1.index, digest: f1.digest });
    expect(flashOf(r.text)).toBe('ok: Removed failure 0.');
    const left = await a.lrange('resque:failed', 0, -1);
    expect(left).toHaveLength(1);
    expect(left[0]).toContain('"args":["f2"]');
  });

  it('retry-all retries only what was not retried yet: no duplicate jobs (unlike Ruby requeue_all)', async () => {
    const a = client(env.a.url);
    await s.get('/failed');
    let r = await s.act('/failed/retry-all', { server: 0 });
    expect(flashOf(r.text)).toMatch(/^ok: Retried 3 failures on 127\.0\.0\.1:\d+; 0 already retried \(skipped\)\.$/);
    r = await s.act('/failed/retry-all', { server: 0 });
    expect(flashOf(r.text)).toMatch(/^ok: Retried 0 failures on .*; 3 already retried \(skipped\)\.$/);
    expect(await a.lrange('resque:queue:p10', 2, -1)).toEqual(['{"class":"FailingJob","args":["f0"]}', '{"class":"FailingJob","args":["f1"]}']);
    expect(await a.lrange('resque:queue:p9', 0, -1)).toEqual(['{"class":"FailingJob","args":["f2"]}']);
    // server B untouched
    expect(await client(env.b.url).llen('jobs:queue:other')).toBe(1);
  });

  it('clear-retried and clear', async () => {
    const a = client(env.a.url);
    await s.get('/failed');
    await s.act('/failed/retry', { server: 0, index: 1 });
    let r = await s.act('/failed/clear-retried', { server: 0 });
    expect(flashOf(r.text)).toMatch(/^ok: Removed 1 retried failure on /);
    expect((await a.lrange('resque:failed', 0, -1)).map(x => (JSON.parse(x) as { payload: { args: string[] } }).payload.args[0])).toEqual(['f0', 'f2']);
    r = await s.act('/failed/clear', { server: 1 });
    expect(flashOf(r.text)).toBe('ok: Cleared 1 failure on server-b.');
    expect(await client(env.b.url).exists('jobs:failed')).toBe(0);
    expect(await a.llen('resque:failed')).toBe(2);
  });

  it('a record that cannot be retried is refused with a reason; bad input is refused', async () => {
    const a = client(env.a.url);
    await a.rpush(
      'resque:failed',
      '{"failed_at":"2026/11/22 22:13:02 UTC","payload":"not json","exception":"PayloadDecodeError","error":"x","backtrace":[],"worker":"w:1:q","queue":"q"}',
    );
    await s.get('/failed');
    let r = await s.act('/failed/retry', { server: 0, index: 3 });
    expect(flashOf(r.text)).toBe('error: failure 3 on ' + labelA + ' cannot be retried: the failed payload is not a job object');
    expect(r.text).toContain('not retryable');
    r = await s.act('/failed/retry', { server: 0, index: 'x' });
    expect(flashOf(r.text)).toBe('error: bad failure index &quot;x&quot;');
    r = await s.act('/failed/retry', { server: 7, index: 0 });
    expect(flashOf(r.text)).toMatch(/^error: no such server: &quot;7&quot;/);
    r = await s.act('/failed/retry', { server: 0, index: 99 });
    expect(flashOf(r.text)).toMatch(/^error: failure 99 on .* is gone/);
  });
});

describe('master controls', () => {
  it('pause, resume and scale send the commands pyres-ts ctl sends; bad input sends nothing', async () => {
    const b = client(env.b.url);
    const key = `jobs:pyres-ts:master:${MASTER_ID}:commands`;
    await s.get('/masters');
    let r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'pause' });
    expect(flashOf(r.text)).toBe(`ok: Sent pause to ${MASTER_ID}.`);
    r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'resume' });
    r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'scale', queues: 'other', count: 3 });
    expect(flashOf(r.text)).toBe(`ok: Sent scale other=3 to ${MASTER_ID}.`);
    expect(await b.lrange(key, 0, -1)).toEqual(['{"cmd":"pause"}', '{"cmd":"resume"}', '{"cmd":"scale","queues":"other","count":3}']);
    r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'scale', queues: 'other', count: -1 });
    expect(flashOf(r.text)).toMatch(/^error: scale: &quot;-1&quot; is not a worker count/);
    r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'stop' });
    expect(flashOf(r.text)).toBe('error: unknown master command &quot;stop&quot;');
    r = await s.act('/masters/command', { server: 0, master: MASTER_ID, cmd: 'pause' });
    expect(flashOf(r.text)).toBe(`error: no master &quot;${MASTER_ID}&quot; on ${labelA}`);
    expect(await b.llen(key)).toBe(3);
  });
});
