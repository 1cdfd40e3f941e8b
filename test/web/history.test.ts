/**
 * The processed/failed history under `<ns>:pyres-ts:stats:history`: written by the dashboard
 * process with no browser open, one sample per interval however many dashboards run, capped,
 * tolerant of foreign elements, and drawn on the overview and stats pages without script.
 */
import { Dashboard } from '../../src/admin/admin';
import { historyOf, sampleHistory } from '../../src/admin/inspect';
import { parseDsnList } from '../../src/web/dsn';
import { createWebApp } from '../../src/web/app';
import { historyRates } from '../../src/web/views';
import { type Env, Session, client, startEnv, stopEnv } from './helpers';

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  for (const deadline = Date.now() + ms; ; ) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 25));
  }
}

describe('written by the dashboard process', () => {
  let env: Env;
  afterAll(() => stopEnv(env));

  it('samples every server on its own, without any request, under each namespace', async () => {
    env = await startEnv();
    const a = client(env.a.url);
    const b = client(env.b.url);
    await waitFor(
      async () => (await a.llen('resque:pyres-ts:stats:history')) >= 1 && (await b.llen('jobs:pyres-ts:stats:history')) >= 1,
      10_000,
      'a sample on both servers',
    );
    const [sa] = await a.lrange('resque:pyres-ts:stats:history', 0, 0);
    expect(JSON.parse(sa as string)).toEqual({ t: expect.any(Number), processed: 10, failed: 3 });
    const [sb] = await b.lrange('jobs:pyres-ts:stats:history', 0, 0);
    expect(JSON.parse(sb as string)).toEqual({ t: expect.any(Number), processed: 5, failed: 1 });
    // the guard of this interval is set: another dashboard does not add a second sample
    expect(await a.pttl('resque:pyres-ts:stats:history:guard')).toBeGreaterThan(0);
  });
});

describe('sampleHistory and the pages', () => {
  let env: Env;
  let d1: Dashboard;
  let d2: Dashboard;
  beforeAll(async () => {
    env = await startEnv({ sampleHistory: false });
    d1 = new Dashboard(parseDsnList(env.dsn, { namespace: 'resque' }));
    d2 = new Dashboard(parseDsnList(env.dsn, { namespace: 'resque' }));
    await Promise.all([d1.connect(), d2.connect()]);
  });
  afterAll(async () => {
    await Promise.all([d1.close(), d2.close()]);
    await stopEnv(env);
  });
  beforeEach(async () => {
    await client(env.a.url).del('resque:pyres-ts:stats:history', 'resque:pyres-ts:stats:history:guard');
    await client(env.b.url).del('jobs:pyres-ts:stats:history', 'jobs:pyres-ts:stats:history:guard');
  });

  it('two dashboards sampling at once write one sample per server per interval', async () => {
    const [n1, n2] = await Promise.all([sampleHistory(d1), sampleHistory(d2)]);
    expect(n1 + n2).toBe(2);
    expect(await sampleHistory(d1)).toBe(0);
    expect(await client(env.a.url).llen('resque:pyres-ts:stats:history')).toBe(1);
    expect(await client(env.b.url).llen('jobs:pyres-ts:stats:history')).toBe(1);
  });

  it('a mounted app samples when it answers a GET, before the answer, once per interval', async () => {
    const app = createWebApp({ dashboard: d1 });
    const get = async (p: string): Promise<number> => (await app.fetch(new Request(`http://127.0.0.1${p}`, { headers: { Host: '127.0.0.1' } }))).status;
    expect(await get('/queues')).toBe(200);
    expect(await client(env.a.url).llen('resque:pyres-ts:stats:history')).toBe(1);
    expect(await client(env.b.url).llen('jobs:pyres-ts:stats:history')).toBe(1);
    await client(env.a.url).del('resque:pyres-ts:stats:history:guard');
    expect(await get('/workers')).toBe(200); // this app sampled less than a minute ago: not again
    expect(await client(env.a.url).llen('resque:pyres-ts:stats:history')).toBe(1);
  });

  it('keeps the last `cap` samples', async () => {
    const a = client(env.a.url);
    for (let i = 0; i < 5; i++) {
      await a.set('resque:stat:processed', String(100 + i));
      await waitFor(() => sampleHistory(d1, Date.now(), { intervalMs: 20, cap: 3 }), 5000, `sample ${i}`);
    }
    const kept = (await a.lrange('resque:pyres-ts:stats:history', 0, -1)).map(x => (JSON.parse(x) as { processed: number }).processed);
    expect(kept).toEqual([102, 103, 104]);
  });

  it('skips elements that are not samples, and draws per-minute rates on the overview and stats pages', async () => {
    const a = client(env.a.url);
    const t0 = Date.UTC(2026, 11, 1, 12, 0);
    await a.rpush(
      'resque:pyres-ts:stats:history',
      JSON.stringify({ t: t0, processed: 0, failed: 0 }),
      'garbage',
      '{"t":"x"}',
      JSON.stringify({ t: t0 + 60_000, processed: 60, failed: 6 }),
      JSON.stringify({ t: t0 + 180_000, processed: 300, failed: 6 }),
    );
    const h = await historyOf(d1);
    expect(h.map(x => x.samples.length)).toEqual([3, 0]);
    expect(historyRates(h)).toEqual([
      { t: t0 + 60_000, processed: 60, failed: 6 },
      { t: t0 + 180_000, processed: 120, failed: 0 },
    ]);
    const s = new Session(env.web.url);
    for (const page of ['/', '/stats']) {
      const r = await s.get(page);
      expect(r.text).toContain('<div class="chart history" data-points="2">');
      expect(r.text).toContain('processed/min 120.0');
      expect(r.text).toMatch(/<polyline class="series-p" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    }
    const api = (await (await fetch(`${env.web.url}/api/history`)).json()) as Array<{ label: string; samples: unknown[] }>;
    expect(api.map(x => [x.label, x.samples.length])).toEqual([
      [expect.stringMatching(/^127\.0\.0\.1:\d+$/), 3],
      ['server-b', 0],
    ]);
  });

  it('gives no rate for an interval where a counter went down (a reset), and sums servers by minute', () => {
    const t0 = Date.UTC(2026, 11, 1, 12, 0);
    const srv = (id: number) => ({ id, label: String(id), namespace: 'resque', store: undefined as never });
    const rates = historyRates([
      {
        server: srv(0),
        ok: true,
        samples: [
          { t: t0, processed: 100, failed: 5 },
          { t: t0 + 60_000, processed: 10, failed: 1 },
          { t: t0 + 120_000, processed: 40, failed: 1 },
        ],
      },
      {
        server: srv(1),
        ok: true,
        samples: [
          { t: t0 + 1000, processed: 0, failed: 0 },
          { t: t0 + 121_000, processed: 20, failed: 2 },
        ],
      },
    ]);
    expect(rates).toEqual([
      { t: t0 + 60_000, processed: 0, failed: 0 },
      { t: t0 + 120_000, processed: 40, failed: 1 },
    ]);
  });

  it('says how much history there is when there is too little to draw', async () => {
    const s = new Session(env.web.url);
    const r = await s.get('/stats');
    expect(r.text).toContain('Not enough history yet');
    expect(r.text).toContain('data-samples="0"');
  });
});
