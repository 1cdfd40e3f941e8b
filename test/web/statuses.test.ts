/**
 * The Statuses page of `pyres-ts web` over HTTP, against two real redis-servers: statuses as Ruby's
 * resque-status wrote them (t1) and as pyres-ts writes them, hostile values (w2), Kill (resque-web's
 * `SADD _kill`) and Clear. Also that what pyres-ts writes keeps resque-web's Statuses tab rendering
 * (the w2 tolerance rules: a JSON object, `time` integer seconds, `status` one of the five words).
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeStatus } from '../../src/protocol/status';
import { StatusStore } from '../../src/store/statusStore';
import { completedMessage, encodeDoneNotice, failedMessage, statusJson, killedMessage, updateFields } from '../../src/protocol/status';
import { type Env, Session, client, flashOf, seed, startEnv, stopEnv } from './helpers';

const FIX = join(__dirname, '..', '..', 'fixtures', 'plugins');
const T1 = (JSON.parse(readFileSync(join(FIX, 't1-status-lifecycle', 'keys-after-jobs.json'), 'utf8')) as { keys: Record<string, { value: unknown }> }).keys;

let env: Env;
let s: Session;
beforeAll(async () => {
  env = await startEnv();
});
afterAll(() => stopEnv(env));
beforeEach(async () => {
  await seed(env.a.url, env.b.url);
  const a = client(env.a.url);
  for (const [key, v] of Object.entries(T1)) {
    if (key.startsWith('resque:status:')) await a.set(key, v.value as string);
    if (key === 'resque:_statuses') for (const [m, sc] of v.value as Array<[string, number]>) await a.zadd(key, sc, m);
  }
  await a.set('resque:status:aaaabbbbccccddddeeeeffff00001111', 'not json');
  await a.zadd('resque:_statuses', 1796104390, 'aaaabbbbccccddddeeeeffff00001111');
  await a.zadd('resque:_statuses', 1796104391, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'); // key gone (expired): skipped, as resque-web's list does
  await a.set(
    'resque:status:cccccccccccccccccccccccccccccccc',
    '{"time":1796104392,"status":"working","uuid":"cccccccccccccccccccccccccccccccc","name":"<script>x</script>","num":1,"total":4}',
  );
  await a.zadd('resque:_statuses', 1796104392, 'cccccccccccccccccccccccccccccccc');
  s = new Session(env.web.url);
});

function row(html: string, uuid: string): string {
  const at = html.indexOf(`data-uuid="${uuid}"`);
  if (at < 0) throw new Error(`no status row ${uuid}`);
  const i = html.lastIndexOf('<tr', at);
  return html.slice(i, html.indexOf('</tr>', i));
}

describe('Statuses page', () => {
  it('lists statuses newest first with state, progress, message and result; hostile values escaped or marked broken', async () => {
    const r = await s.get('/statuses');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<a href="/statuses" class="current" aria-current="page">Statuses</a>');
    expect(r.text).toContain('<b>8</b> statuses in <code>_statuses</code>');
    const done = row(r.text, 'aad1f914c5faa4118f38f8b58466998f');
    expect(done).toContain('<span class="state">completed</span>');
    expect(done).toContain('value="100"');
    expect(done).toContain('(3/3)');
    expect(done).toContain('all done');
    expect(done).toContain('<code>{&quot;rows&quot;:3}</code>');
    expect(done).not.toContain('Kill');
    const failed = row(r.text, '0cd35c941e08c3121ff364d17371bbda');
    expect(failed).toContain('50%');
    expect(failed).toContain('The task failed because of an error: status boom');
    expect(row(r.text, 'e4864f0ab9f9ebc5b97a861d431c021a')).toContain('Kill');
    expect(row(r.text, 'aaaabbbbccccddddeeeeffff00001111')).toContain('<strong>Broken</strong>: not JSON');
    expect(r.text).not.toContain('data-uuid="bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"');
    expect(r.text).not.toContain('<script>x</script>');
    expect(row(r.text, 'cccccccccccccccccccccccccccccccc')).toContain('&lt;script&gt;x&lt;/script&gt;');
    // newest first
    expect(r.text.indexOf('cccccccccccccccccccccccccccccccc')).toBeLessThan(r.text.indexOf('aad1f914c5faa4118f38f8b58466998f'));
  });

  it('filters by state', async () => {
    const r = await s.get('/statuses?state=completed');
    expect(r.text).toContain('<b>2</b> statuses completed');
    expect(r.text).not.toContain('data-uuid="0cd35c941e08c3121ff364d17371bbda"');
  });

  it("Kill is resque-web's (SADD _kill), refused for a bad uuid; Clear removes one state", async () => {
    await s.get('/statuses');
    const a = client(env.a.url);
    let r = await s.act('/statuses/kill', { server: 0, uuid: 'cccccccccccccccccccccccccccccccc', back: '/statuses' });
    expect(flashOf(r.text)).toMatch(/^ok: Kill requested for cccccccccccccccccccccccccccccccc \(working\)/);
    expect(await a.smembers('resque:_kill')).toEqual(['cccccccccccccccccccccccccccccccc']);
    expect(row(r.text, 'cccccccccccccccccccccccccccccccc')).toContain('kill requested');
    r = await s.act('/statuses/kill', { server: 0, uuid: 'nope', back: '/statuses' });
    expect(flashOf(r.text)).toMatch(/^error: .*is not a status uuid/);
    r = await s.act('/statuses/clear', { server: 0, state: 'completed', back: '/statuses' });
    expect(flashOf(r.text)).toBe('ok: Removed 2 completed statuses.');
    expect(await a.exists('resque:status:aad1f914c5faa4118f38f8b58466998f')).toBe(0);
    expect(await a.zscore('resque:_statuses', 'aad1f914c5faa4118f38f8b58466998f')).toBeNull();
    expect(await a.exists('resque:status:0cd35c941e08c3121ff364d17371bbda')).toBe(1);
  });

  it('Kill without the CSRF token is refused', async () => {
    await s.get('/statuses');
    const r = await s.post('/statuses/kill', { _csrf: null, server: 0, uuid: 'cccccccccccccccccccccccccccccccc' });
    expect(r.status).toBe(403);
    expect(await client(env.a.url).scard('resque:_kill')).toBe(0);
  });
});

describe("what pyres-ts writes keeps resque-web's Statuses tab rendering (w2 rules)", () => {
  it('every state is a JSON object with integer `time` and one of the five words, in Ruby key order', async () => {
    const st = new StatusStore({ connection: { url: env.a.url } });
    await st.connect();
    try {
      const u = '0123456789abcdef0123456789abcdef';
      await st.create('statused', 'J', u, { a: 1 });
      const texts = [await st.get(u)];
      const at = new Date();
      const now = Math.floor(at.getTime() / 1000);
      for (const f of [
        { name: 'J({"a"=>1})', status: 'working' },
        { name: 'J({"a"=>1})', status: 'working', num: 1, total: 3, message: 'x' },
        { name: 'J({"a"=>1})', status: 'completed', message: completedMessage(at), result: [] },
        { name: 'J({"a"=>1})', status: 'failed', message: failedMessage('boom') },
      ]) {
        await st.update(u, { now, fields: updateFields(f), notice: encodeDoneNotice({ status: 'completed' }) });
        texts.push(await st.get(u));
      }
      await st.update(u, { now, fields: [], kill: 'now', killedMessageJson: statusJson(killedMessage(at)) });
      texts.push(await st.get(u));
      for (const t of texts) {
        const d = decodeStatus(u, t!);
        expect(d.problem).toBeNull();
        expect(Number.isInteger(d.fields['time'])).toBe(true);
        expect(d.state).not.toBeNull();
        expect(Object.keys(d.fields).slice(0, 3)).toEqual(['time', 'status', 'uuid']);
      }
      expect(texts.map(t => decodeStatus(u, t!).state)).toEqual(['queued', 'working', 'working', 'completed', 'failed', 'killed']);
    } finally {
      await st.close();
    }
  });
});
