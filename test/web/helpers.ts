/**
 * Helpers for the dashboard tests: two real redis-servers, seed data in Resque's exact
 * formats, an in-process dashboard on port 0, and an HTTP session with a cookie jar.
 */
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { type WebServer, startWebServer } from '../../src/web/server';
import type { WebServerOptions } from '../../src/web/server';
import { type RedisServerHandle, startRedis } from '../support/redisServer';

export const RUBY_FAILURES = [
  '{"failed_at":"2026/11/22 22:13:02 UTC","payload":{"class":"FailingJob","args":["f0"]},"exception":"ArgumentError","error":"boom: [\\"f0\\"]","backtrace":["/srv/app/common.rb:17:in `perform\'"],"worker":"vm:9203:p10,p9","queue":"p10"}',
  '{"failed_at":"2026/11/22 22:13:02 UTC","payload":{"class":"FailingJob","args":["f1"]},"exception":"ArgumentError","error":"boom: [\\"f1\\"]","backtrace":["/srv/app/common.rb:17:in `perform\'"],"worker":"vm:9203:p10,p9","queue":"p10"}',
  '{"failed_at":"2026/11/22 22:13:02 UTC","payload":{"class":"FailingJob","args":["f2"]},"exception":"ArgumentError","error":"boom: [\\"f2\\"]","backtrace":["/srv/app/common.rb:17:in `perform\'"],"worker":"vm:9203:p10,p9","queue":"p9"}',
];

export function failureRecord(cls: string, args: unknown[], queue: string, extra: Partial<Record<string, unknown>> = {}): string {
  return JSON.stringify({
    failed_at: '2026/11/22 22:13:02 UTC',
    payload: { class: cls, args },
    exception: 'RuntimeError',
    error: `boom ${cls}`,
    backtrace: ['/srv/app/job.js:1'],
    worker: 'vm:100:' + queue,
    queue,
    ...extra,
  });
}

export const MASTER_ID = 'hostb:2000';
export const MASTER_INFO = {
  id: MASTER_ID,
  host: 'hostb',
  pid: 2000,
  version: '0.1.0',
  startedAt: '2026-11-22T22:00:00.000Z',
  paused: false,
  stopping: false,
  groups: [{ queues: 'other', desired: 1, min: 1, max: 4, running: 1 }],
  children: [{ pid: 2001, workerId: 'hostb:2001:other', group: 'other', startedAt: '2026-11-22T22:00:01.000Z', rssMb: 42, job: null }],
  autoscale: { maxCpu: 80, maxMem: 90, interval: 10, last: '2026-11-22T22:05:00.000Z other: 2 -> 1 (queues are empty and children idle)' },
};

/** Clients opened by a test; closed by closeClients(). */
const clients = new Set<Redis>();

export function client(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, disconnectTimeout: 50 });
  r.on('error', () => undefined);
  clients.add(r);
  return r;
}

export async function closeClients(): Promise<void> {
  await Promise.all(
    [...clients].map(async r => {
      clients.delete(r);
      try {
        if (r.status === 'ready') await r.quit();
        else if (r.status !== 'end') r.disconnect();
      } catch {
        r.disconnect();
      }
    }),
  );
}

/**
 * Server A (namespace resque): queues p10 (2 jobs) and p9 (empty); worker vm:9413:p9 working,
 * vm:9414:p8,p7 idle; the three failures of the e2 capture; stats.
 * Server B (namespace jobs): queues p10 (1 job) and other (1 job); a pyres-ts master with one
 * child worker; one failure.
 */
export async function seed(aUrl: string, bUrl: string): Promise<void> {
  const a = client(aUrl);
  await a.flushall();
  await a.sadd('resque:queues', 'p10', 'p9');
  await a.rpush('resque:queue:p10', '{"class":"MixedJob","args":[1,"two",{"three":3}]}', '{"class":"MixedJob","args":[2]}');
  await a.sadd('resque:workers', 'vm:9413:p9', 'vm:9414:p8,p7');
  await a.set('resque:worker:vm:9413:p9', '{"queue":"p9","run_at":"2026-11-22T22:13:31Z","payload":{"class":"MixedJob","args":["long-running"]}}');
  await a.set('resque:worker:vm:9413:p9:started', '2026-11-22 22:13:30 +0000');
  await a.set('resque:worker:vm:9414:p8,p7:started', '2026-11-22 22:13:30 +0000');
  await a.hset('resque:workers:heartbeat', 'vm:9413:p9', '2026-11-22T22:13:31+00:00', 'vm:9414:p8,p7', '2026-11-22T22:13:31+00:00');
  await a.set('resque:stat:processed:vm:9413:p9', '7');
  await a.set('resque:stat:failed:vm:9413:p9', '2');
  await a.set('resque:stat:processed', '10');
  await a.set('resque:stat:failed', '3');
  await a.rpush('resque:failed', ...RUBY_FAILURES);

  const b = client(bUrl);
  await b.flushall();
  await b.sadd('jobs:queues', 'p10', 'other');
  await b.rpush('jobs:queue:p10', '{"class":"BJob","args":["b"]}');
  await b.rpush('jobs:queue:other', '{"class":"OtherJob","args":[]}');
  await b.sadd('jobs:workers', 'hostb:2001:other');
  await b.set('jobs:worker:hostb:2001:other', '{"queue":"other","run_at":"2026-11-22T22:14:00Z","payload":{"class":"OtherJob","args":[]}}');
  await b.set('jobs:worker:hostb:2001:other:started', '2026-11-22 22:00:01 +0000');
  await b.set('jobs:stat:processed', '5');
  await b.set('jobs:stat:failed', '1');
  await b.sadd('jobs:pyres-ts:masters', MASTER_ID);
  await b.set(`jobs:pyres-ts:master:${MASTER_ID}`, JSON.stringify(MASTER_INFO), 'EX', 600);
  await b.rpush('jobs:failed', failureRecord('BFail', ['x'], 'other'));
}

export interface Env {
  a: RedisServerHandle;
  b: RedisServerHandle;
  web: WebServer;
  dsn: string;
}

/** Two redis-servers, seeded, and a dashboard over both (B under the `jobs` namespace). */
export async function startEnv(opts: Partial<WebServerOptions> = {}): Promise<Env> {
  const a = await startRedis();
  let b: RedisServerHandle | undefined;
  try {
    b = await startRedis();
    await seed(a.url, b.url);
    const dsn = `${a.url},${b.url}/0?namespace=jobs&name=server-b`;
    const dashboard = new Dashboard(parseDsnList(dsn, { namespace: 'resque' }));
    await dashboard.connect();
    const web = await startWebServer({ dashboard, port: 0, ...opts });
    return { a, b, web, dsn };
  } catch (e) {
    await a.stop();
    await b?.stop();
    throw e;
  }
}

export async function stopEnv(env: Env | undefined): Promise<void> {
  await closeClients();
  if (!env) return;
  await env.web.close();
  await Promise.all([env.a.stop(), env.b.stop()]);
}

export interface HttpResult {
  status: number;
  text: string;
  headers: Headers;
  location: string | null;
}

/** A browser-like HTTP session: keeps cookies, reads the CSRF token from the last page. */
export class Session {
  readonly cookies = new Map<string, string>();
  csrf = '';

  constructor(
    readonly base: string,
    private readonly auth?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.cookies.size) h['Cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.auth) h['Authorization'] = `Basic ${Buffer.from(this.auth).toString('base64')}`;
    return h;
  }

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = (pair ?? '').indexOf('=');
      const k = (pair ?? '').slice(0, i);
      const v = (pair ?? '').slice(i + 1);
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c) || v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
  }

  async get(path: string): Promise<HttpResult> {
    const res = await fetch(this.base + path, { headers: this.headers(), redirect: 'manual' });
    this.keep(res);
    const text = await res.text();
    const m = /name="_csrf" value="([0-9a-f]+)"/.exec(text);
    if (m) this.csrf = m[1] as string;
    return { status: res.status, text, headers: res.headers, location: res.headers.get('location') };
  }

  /** POSTs a form. The CSRF token is added unless `fields._csrf` is given (or null to omit). */
  async post(path: string, fields: Record<string, string | number | null>, extraHeaders: Record<string, string> = {}): Promise<HttpResult> {
    const body = new URLSearchParams();
    if (!('_csrf' in fields)) body.set('_csrf', this.csrf);
    for (const [k, v] of Object.entries(fields)) if (v !== null) body.set(k, String(v));
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: this.headers({ 'Content-Type': 'application/x-www-form-urlencoded', ...extraHeaders }),
      body: body.toString(),
      redirect: 'manual',
    });
    this.keep(res);
    return { status: res.status, text: await res.text(), headers: res.headers, location: res.headers.get('location') };
  }

  /** POST, then follow the 303 like a browser; returns the page it lands on. */
  async act(path: string, fields: Record<string, string | number | null>): Promise<HttpResult> {
    const r = await this.post(path, fields);
    if (r.status !== 303 || !r.location) throw new Error(`expected 303 from ${path}, got ${r.status}: ${r.text.slice(0, 300)}`);
    return this.get(r.location);
  }
}

/** Text content of the flash message on a page. */
export function flashOf(html: string): string | null {
  const m = /<p class="flash (ok|error)" role="status">([\s\S]*?)<\/p>/.exec(html);
  return m ? `${m[1]}: ${m[2]}` : null;
}

/** The failure items (index + digest) in page order. */
export function failureItems(html: string): Array<{ index: number; digest: string; retried: boolean }> {
  const out: Array<{ index: number; digest: string; retried: boolean }> = [];
  const re = /<li class="failure( retried)?" data-index="(\d+)" data-digest="([0-9a-f]+)">/g;
  for (let m = re.exec(html); m; m = re.exec(html)) out.push({ index: Number(m[2]), digest: m[3] as string, retried: Boolean(m[1]) });
  return out;
}
