/**
 * A server that is down is named on every page; the others still show; it comes back by itself.
 */
import * as net from 'node:net';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { type WebServer, startWebServer } from '../../src/web/server';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { Session, client, closeClients, flashOf, seed } from './helpers';

/** A loopback port where nothing listens (bound, read, released). */
async function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const PAGES = ['/', '/queues', '/queues/p10', '/workers', '/masters', '/failed', '/stats'];

describe('an unreachable server', () => {
  let a: RedisServerHandle;
  let b: RedisServerHandle;
  let web: WebServer;
  let dead: number;

  beforeAll(async () => {
    a = await startRedis();
    b = await startRedis();
    await seed(a.url, b.url);
    dead = await deadPort();
    const d = new Dashboard(parseDsnList(`${a.url},${b.url}?namespace=jobs&name=server-b,127.0.0.1:${dead}`, { namespace: 'resque' }));
    const down = await d.connect();
    expect(down.map(s => s.label)).toEqual([`127.0.0.1:${dead}`]);
    web = await startWebServer({ dashboard: d, port: 0 });
  });
  afterAll(async () => {
    await closeClients();
    await web?.close();
    await a?.stop();
    await b?.stop();
  });

  it.each(PAGES)('%s says which server is down and shows the others', async path => {
    const r = await new Session(web.url).get(path);
    expect(r.status).toBe(200);
    expect(r.text).toContain(`<div class="down-notice" role="alert" data-server="2"><strong>127.0.0.1:${dead} is down</strong>`);
    expect(r.text).toContain('ECONNREFUSED');
    expect(r.text).not.toContain('data-server="0"><strong>');
    expect(r.text).toContain(`<span class="srv down" title="connect ECONNREFUSED 127.0.0.1:${dead}">127.0.0.1:${dead}</span>`);
    expect(r.text).toContain(`<span class="srv up" title="connected">127.0.0.1:${a.port}</span>`);
  });

  it("the live servers' data is all there", async () => {
    const s = new Session(web.url);
    const o = await s.get('/');
    expect(o.text).toMatch(/data-queue="p10"><td>.*class="num total">3</);
    expect(o.text).toContain('2 of 3 workers working');
    const f = await s.get('/failed');
    expect(f.text).toContain('<span class="count">down</span>');
    expect(f.text).toContain('<code class="class">FailingJob</code>');
    const live = (await (await fetch(`${web.url}/api/live`)).json()) as { processed: number; servers: Array<{ ok: boolean; error?: string }> };
    expect(live.processed).toBe(15);
    expect(live.servers[2]).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('an action on the down server fails with its name; on the failed page of a down server too', async () => {
    const s = new Session(web.url);
    await s.get('/failed');
    const r = await s.act('/failed/retry-all', { server: 2 });
    expect(flashOf(r.text)).toMatch(new RegExp(`^error: Failed: Redis at redis://127\\.0\\.0\\.1:${dead} is unreachable: connect ECONNREFUSED`));
    const f = await s.get('/failed?server=2');
    expect(f.status).toBe(200);
    expect(f.text).toContain(`127.0.0.1:${dead} is down: Redis at redis://127.0.0.1:${dead} is unreachable`);
  });

  it('a server that stops while the dashboard runs shows as down, then back when it returns', async () => {
    await b.stop();
    const s = new Session(web.url);
    let r = await s.get('/queues');
    expect(r.status).toBe(200);
    expect(r.text).toContain('<strong>server-b is down</strong>');
    expect(r.text).toMatch(/data-queue="p10">.*class="num total">2</);
    // Restart A (same port, empty: no persistence) and check the dashboard reconnects by itself.
    await a.restart();
    const ca = client(a.url);
    await ca.sadd('resque:queues', 'p10');
    await ca.rpush('resque:queue:p10', '{"class":"A","args":[]}', '{"class":"B","args":[]}');
    const deadline = Date.now() + 10_000;
    for (;;) {
      r = await s.get('/queues');
      if (!r.text.includes(`127.0.0.1:${a.port} is down`) && r.text.includes('data-queue="p10"')) break;
      if (Date.now() > deadline) throw new Error(`server A did not come back: ${r.text.slice(0, 500)}`);
      await new Promise(res => setTimeout(res, 200));
    }
    expect(r.text).toMatch(/data-queue="p10">.*class="num total">2</);
    expect(await client(a.url).llen('resque:queue:p10')).toBe(2);
  });
});
