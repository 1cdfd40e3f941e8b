/**
 * The Schedule page of `pyres-ts web` over HTTP, against two real redis-servers (as pages.test.ts):
 * resque-scheduler's persistent schedules as Ruby wrote them (w1), broken ones (w2), last and next
 * run, and "Enqueue now" writing what resque-web's Queue now writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Env, Session, client, flashOf, seed, startEnv, stopEnv } from './helpers';

const W1 = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'plugins', 'w1-resque-web-plugin-tabs', 'keys.json'), 'utf8')) as {
    keys: Record<string, { value: Record<string, string> }>;
  }
).keys;

let env: Env;
let s: Session;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(() => stopEnv(env));
beforeEach(async () => {
  await seed(env.a.url, env.b.url);
  const a = client(env.a.url);
  await a.hset('resque:persistent_schedules', W1['resque:persistent_schedules']!.value);
  await a.hset('resque:delayed:last_enqueued_at', W1['resque:delayed:last_enqueued_at']!.value);
  await a.hset(
    'resque:persistent_schedules',
    'broken',
    'not json',
    'no_queue',
    '{"class":"pyres_jobs.Archive","every":"30s"}',
    '<script>x</script>',
    '{"class":"X","every":"1h","queue":"q"}',
  );
  const b = client(env.b.url);
  await b.hset('jobs:persistent_schedules', 'b_cron', '{"class":"BJob","cron":"0 5 * * * America/New_York","queue":"other"}');
  s = new Session(env.web.url);
});

function row(html: string, name: string): string {
  const at = html.indexOf(`data-schedule="${name}"`);
  if (at < 0) throw new Error(`no schedule row ${name}`);
  const i = html.lastIndexOf('<tr', at);
  return html.slice(i, html.indexOf('</tr>', i));
}

describe('Schedule page', () => {
  it("lists every server's schedules as resque-web does: interval, class, queue, args, last enqueued; next run", async () => {
    const r = await s.get('/schedule');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<a href="/schedule" class="current" aria-current="page">Schedule</a>');
    expect(r.text).toContain('<b>7</b> schedules in <code>persistent_schedules</code>, <b>3</b> broken.');
    const dyn = row(r.text, 'dyn_every');
    expect(dyn).toContain(
      '<td>dynamic, persisted</td><td>every: 30s (first in 5s)</td><td><code>MixedJob</code></td><td>p8</td><td><code>[&quot;d&quot;]</code></td>',
    );
    expect(dyn).toContain('2026-12-01 05:58:56 +0000');
    // last run 05:58:56, every 30s: overdue, so the next pass of the scheduler fires it
    expect(dyn).toMatch(/<time datetime="[^"]+" title="[^"]+">\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC<\/time> <small class="muted">due now<\/small>/);
    expect(dyn).toContain('Enqueue now');
    const cron = row(r.text, 'cron_other');
    expect(cron).toContain('cron: 0 * * * *');
    // OtherJob has no queue in its config (Ruby took OtherJob's @queue): broken for pyres-ts, said why
    expect(cron).toContain('class="broken"');
    expect(cron).toContain('no &quot;queue&quot;');
    expect(cron).toContain('<span class="muted">Never</span>');
    expect(row(r.text, 'foreign')).toContain('<td>every: 1h</td><td><code>pyres_jobs.Archive</code></td><td>p9</td><td><code>[]</code></td>');
    // the other server, its cron in its own zone
    const b = row(r.text, 'b_cron');
    expect(b).toContain('data-server="1"');
    expect(b).toContain('cron: 0 5 * * * America/New_York');
    expect(b).toMatch(/T(09|10):00:00\.000Z/);
    expect(row(r.text, 'foreign')).toMatch(/<small class="muted">in (60m|1h)<\/small>/);
  });

  it('renders hostile entries as broken rows, escaped, where resque-web answers 500 (w2 C1, C2)', async () => {
    const r = await s.get('/schedule');
    const broken = row(r.text, 'broken');
    expect(broken).toContain('class="broken"');
    expect(broken).toContain('<strong>Broken</strong>: the config is not JSON');
    expect(broken).toContain('<code>not json</code>');
    expect(broken).not.toContain('Enqueue now');
    expect(row(r.text, 'no_queue')).toContain('class="broken"');
    expect(r.text).not.toContain('<script>x</script>');
    expect(r.text).toContain('&lt;script&gt;x&lt;/script&gt;');
  });

  it('Enqueue now pushes what resque-web Queue now pushed (w1: SADD queues p8, RPUSH {"class":"MixedJob","args":["d"]}), last_enqueued_at untouched', async () => {
    await s.get('/schedule');
    const a = client(env.a.url);
    await a.del('resque:queue:p8');
    const r = await s.act('/schedule/enqueue-now', { server: 0, name: 'dyn_every', back: '/schedule' });
    expect(flashOf(r.text)).toBe('ok: Enqueued dyn_every now: {&quot;class&quot;:&quot;MixedJob&quot;,&quot;args&quot;:[&quot;d&quot;]} to p8.');
    expect(await a.lrange('resque:queue:p8', 0, -1)).toEqual(['{"class":"MixedJob","args":["d"]}']);
    expect(await a.sismember('resque:queues', 'p8')).toBe(1);
    expect(await a.hget('resque:delayed:last_enqueued_at', 'dyn_every')).toBe('2026-12-01 05:58:56 +0000');
    const bad = await s.act('/schedule/enqueue-now', { server: 0, name: 'broken', back: '/schedule' });
    expect(flashOf(bad.text)).toMatch(/^error: schedule &quot;broken&quot; cannot be enqueued/);
  });

  it("Remove is Ruby's remove_schedule (w1 DELETE /schedule: HDEL persistent_schedules, SADD schedules_changed), broken entries too", async () => {
    await s.get('/schedule');
    const a = client(env.a.url);
    await a.del('resque:schedules_changed');
    let r = await s.act('/schedule/remove', { server: 0, name: 'foreign', back: '/schedule' });
    expect(flashOf(r.text)).toBe('ok: Removed the schedule foreign (a dynamic scheduler stops it at its next pass).');
    expect(await a.hexists('resque:persistent_schedules', 'foreign')).toBe(0);
    expect(await a.smembers('resque:schedules_changed')).toEqual(['foreign']);
    expect(r.text).not.toContain('data-schedule="foreign"');
    r = await s.act('/schedule/remove', { server: 0, name: 'broken', back: '/schedule' });
    expect(await a.hexists('resque:persistent_schedules', 'broken')).toBe(0);
    r = await s.act('/schedule/remove', { server: 0, name: 'broken', back: '/schedule' });
    expect(flashOf(r.text)).toBe('error: no schedule &quot;broken&quot; in persistent_schedules');
  });

  it('Enqueue now without the CSRF token is refused and pushes nothing', async () => {
    await s.get('/schedule');
    const a = client(env.a.url);
    await a.del('resque:queue:p8');
    const r = await s.post('/schedule/enqueue-now', { _csrf: null, server: 0, name: 'dyn_every' });
    expect(r.status).toBe(403);
    expect(await a.llen('resque:queue:p8')).toBe(0);
  });
});
