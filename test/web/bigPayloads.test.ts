/**
 * Pages over payloads of megabytes: a list row shows the first 4,096 characters of a payload, a
 * detail page the first 1,000,000 of each of its arguments, payload and record, each with a note
 * of how much was left out. Pages used to embed every payload whole (3 times on a detail page):
 * 6 queued jobs of 100 MB gave a 500 ("Invalid string length"), a 200 MB failure's detail a 404.
 */
import { DETAIL_CLIP, LIST_CLIP, clip } from '../../src/web/html';
import { type Env, Session, client, seed, startEnv, stopEnv } from './helpers';

let env: Env;
let s: Session;
const BIG = 3 * 1024 * 1024;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(() => stopEnv(env));
beforeEach(async () => {
  await seed(env.a.url, env.b.url);
  s = new Session(env.web.url);
});

describe('pages over payloads of megabytes', () => {
  it('a queue of 3 MB jobs: each row shows 4,096 characters and says how many more there are', async () => {
    const r0 = client(env.a.url);
    const payload = JSON.stringify({ class: 'Big', args: ['y'.repeat(BIG)] });
    await r0.sadd('resque:queues', 'big');
    await r0.rpush('resque:queue:big', payload, payload, payload);
    const r = await s.get('/queues/big?server=0');
    expect(r.status).toBe(200);
    const notes = r.text.match(/… ([\d,]+) more characters not shown \(Details shows more\)/g) ?? [];
    expect(notes).toHaveLength(3);
    expect(notes[0]).toContain((payload.length - LIST_CLIP).toLocaleString('en-US'));
    expect(r.text.length).toBeLessThan(3 * LIST_CLIP + 50_000);
    // The job's own page: a megabyte of it.
    const detail = /href="(\/job\?[^"]+)"/.exec(r.text)![1]!.replace(/&amp;/g, '&');
    const d = await s.get(detail);
    expect(d.status).toBe(200);
    expect(d.text).toContain('more characters not shown');
    expect(d.text.length).toBeGreaterThan(DETAIL_CLIP);
    expect(d.text.length).toBeLessThan(2 * DETAIL_CLIP + 50_000);
  });

  it('a 3 MB failure: the list shows 4,096 characters of its arguments, its page a megabyte of each part, both say what was left out', async () => {
    const r0 = client(env.a.url);
    await r0.del('resque:failed');
    await r0.rpush(
      'resque:failed',
      JSON.stringify({
        failed_at: '2026/12/02 01:00:00 UTC',
        payload: { class: 'Big', args: ['z'.repeat(BIG)] },
        exception: 'RuntimeError',
        error: 'boom',
        backtrace: [],
        worker: 'host:1:q',
        queue: 'q',
      }),
    );
    const r = await s.get('/failed?server=0');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/more characters not shown \(Details shows more\)/);
    expect(r.text.length).toBeLessThan(LIST_CLIP + 50_000);
    const detail = /href="(\/failure\?[^"]+)"/.exec(r.text)![1]!.replace(/&amp;/g, '&');
    const d = await s.get(detail);
    expect(d.status).toBe(200);
    expect(d.text.match(/more characters not shown/g)).toHaveLength(3);
    expect(d.text.length).toBeLessThan(3 * DETAIL_CLIP + 50_000);
  });
});

describe('clip', () => {
  it('leaves short text alone, never cuts a surrogate pair, escapes what it keeps', () => {
    expect(clip('short', 10)).toBe('short');
    const pair = `${'a'.repeat(9)}😀tail`;
    const out = String(clip(pair, 10));
    expect(out.startsWith('a'.repeat(9) + '<span')).toBe(true);
    expect(out).toContain('… 6 more characters not shown');
    expect(String(clip(`<script>${'x'.repeat(20)}`, 10))).toMatch(/^&lt;script&gt;xx<span/);
  });
});
