/**
 * Locked-down ACL users (issue 10, item 5). A user with exactly Ruby Resque's commands (no
 * EVAL) makes `pyres-ts worker` / `master` stop at start with one line and exit 2, without
 * registering. The README's "Redis ACL" lines (read from README.md and run as written) are
 * enough for a worker to work a job, for the dashboard to serve a page and for an admin command.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import yargs from 'yargs';
import { RedisProc } from '../faults/redisProc';
import { CHAOS_JOBS, faultEnv, k, stackLines, waitFor } from '../faults/helpers';
import { runCli } from '../support/spawn';
import { runWeb, type WebArgs, webBuilder } from '../../src/cli/webCommand';

const env = faultEnv();
const ROOT_PW = 'root-pw';
const RUBY_ACL =
  'ACL SETUSER ruby on >ruby-pw resetkeys ~resque:* resetchannels -@all +ping +info +select +time +client|setname ' +
  '+get +set +del +exists +keys +expire +mget +incrby +decrby +sadd +srem +smembers +sismember +scard ' +
  '+hset +hget +hgetall +hdel +hmget +rpush +lpush +lpop +llen +lrange +lindex +lrem +lset +ltrim +multi +exec';

let srv: RedisProc;
let admin: Redis;

/** The ACL SETUSER lines of README.md's "Redis ACL" section, by user name. */
function readmeAcl(): Record<string, { line: string; password: string }> {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const sec = /^## Redis ACL\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const block = /```\n([\s\S]*?)```/.exec(sec)?.[1] ?? '';
  const out: Record<string, { line: string; password: string }> = {};
  for (const line of block.split('\n').filter(l => l.startsWith('ACL SETUSER '))) {
    const [, , user, ...rest] = line.split(/\s+/);
    out[user!] = { line, password: rest.find(t => t.startsWith('>'))!.slice(1) };
  }
  return out;
}

function url(user: string, pw: string): string {
  return `redis://${user}:${pw}@127.0.0.1:${srv.port}`;
}

const acl = readmeAcl();

beforeAll(async () => {
  srv = await RedisProc.start({ extraArgs: ['--user', 'root', 'on', `>${ROOT_PW}`, '~*', '&*', '+@all', '--user', 'default', 'off'] });
  admin = new Redis({ port: srv.port, host: '127.0.0.1', username: 'root', password: ROOT_PW, maxRetriesPerRequest: 3 });
  for (const l of [RUBY_ACL, ...Object.values(acl).map(a => a.line)]) {
    expect(await admin.call(...(l.split(/\s+/) as [string, ...string[]]))).toBe('OK');
  }
}, 30000);

afterAll(() => admin?.disconnect());

beforeEach(async () => {
  await admin.flushall();
});

it('the README lists a worker, a web and an admin ACL', () => {
  expect(Object.keys(acl).sort()).toEqual(['pyres-admin', 'pyres-web', 'pyres-worker']);
});

describe("a user with only Ruby Resque's commands", () => {
  it('the ruby user really has no EVAL', async () => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', username: 'ruby', password: 'ruby-pw', maxRetriesPerRequest: 1 });
    try {
      await expect(r.eval('return 1', 0)).rejects.toThrow(/NOPERM/);
      expect(await r.sadd(k('queues'), 'x')).toBe(1);
    } finally {
      r.disconnect();
    }
  });

  for (const cmd of ['worker', 'master'] as const) {
    it(`pyres-ts ${cmd}: exits 2 within seconds, one line naming EVAL/EVALSHA and the README, never registers`, async () => {
      const args = cmd === 'worker' ? ['worker', '--queues', 'q'] : ['master', '--workers', 'q=1'];
      const t0 = Date.now();
      const r = await runCli([...args, '--jobs', CHAOS_JOBS, '--redis', url('ruby', 'ruby-pw')], { env: { PYRES_CHAOS_LEDGER: env.ledger } }, 10000);
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter(l => /EVAL/.test(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/Redis user "ruby" .*may not run EVAL\/EVALSHA.*README, "Redis ACL"/);
      expect(r.stderr + r.stdout).not.toContain('ruby-pw');
      expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/registered;/);
      expect(stackLines({ lines: () => `${r.stdout}\n${r.stderr}`.split('\n') } as never)).toEqual([]);
      expect(await admin.scard(k('workers'))).toBe(0);
      expect(await admin.exists(k('workers:heartbeat'))).toBe(0);
    });
  }

  it('pyres-ts enqueue (needs no script) still works for it', async () => {
    const r = await runCli(['enqueue', 'q', 'Record', '"x"', '--redis', url('ruby', 'ruby-pw')]);
    expect(r.code).toBe(0);
    expect(await admin.llen(k('queue:q'))).toBe(1);
  });
});

describe("the README's ACL users", () => {
  it('pyres-worker: a worker registers, uses queue notifications, works a job end to end', async () => {
    const u = url('pyres-worker', acl['pyres-worker']!.password);
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', u], '');
    await w.waitForLine(/registered;/, 15000);
    expect(await admin.scard(k('workers'))).toBe(1);
    const e = await runCli(['enqueue', 'q', 'Record', '"acl"', '--redis', u]);
    expect(e.code).toBe(0);
    await env.waitForLedger(/^ok "acl"$/, 10000);
    await waitFor(async () => (await admin.get(k('stat:processed'))) === '1', 5000, 'stat:processed = 1');
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(w.lines().filter(l => /NOPERM|polling instead/.test(l))).toEqual([]);
    expect(await admin.scard(k('workers'))).toBe(0);
  });

  it('pyres-worker: `master --pool 1` runs a job, and its log tail for ctl watch gets its TTL (EXPIRE), no NOPERM', async () => {
    const u = url('pyres-worker', acl['pyres-worker']!.password);
    const m = env.cli(['master', '--queues', 'q', '--pool', '1', '--jobs', CHAOS_JOBS, '--redis', u], '');
    await m.waitForLine(/all children registered/, 15000);
    const e = await runCli(['enqueue', 'q', 'Record', '"acl-master"', '--redis', u]);
    expect(e.code).toBe(0);
    await env.waitForLedger(/^ok "acl-master"$/, 10000);
    // The log tail is RPUSHed with its EXPIRE in one pipeline, about once a second.
    await waitFor(
      async () => {
        const [key] = await admin.keys(k('pyres-ts:master:*:log'));
        return key !== undefined && (await admin.ttl(key)) > 0;
      },
      10000,
      "the master's log tail with a TTL",
    );
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(m.lines().filter(l => /NOPERM/.test(l))).toEqual([]);
  });

  it('pyres-web: the dashboard serves the queues page', async () => {
    await admin.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Record","args":[1]}').exec();
    const args = (await webBuilder(yargs([])).parseAsync([
      '--dsn',
      url('pyres-web', acl['pyres-web']!.password),
      '--web-port',
      '0',
      '--log-level',
      'error',
    ])) as unknown as WebArgs;
    const stop = new AbortController();
    let listening = '';
    const done = runWeb(args, { env: {}, signal: stop.signal, onListening: (s: string) => (listening = s) });
    try {
      await waitFor(() => listening, 5000, 'the dashboard to listen');
      const res = await fetch(`${listening}/queues`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('q');
      expect(body).not.toMatch(/NOPERM/);
      // Every page of the navigation (the plugins' pages too: the Delayed page's ZRANGE, the
      // Retries page's ZCARD were refused once).
      const pages = ['/overview', '/workers', '/failed', '/stats', '/delayed', '/retries', '/schedule', '/statuses', '/masters', '/metrics', '/api/live'];
      const seen: Record<string, string> = {};
      for (const page of pages) {
        const r = await fetch(`${listening}${page}`);
        const text = await r.text();
        seen[page] = `${r.status}${/NOPERM[^<"]*/.exec(text)?.[0] ?? ''}`;
      }
      expect(seen).toEqual(Object.fromEntries(pages.map(pg => [pg, '200'])));
    } finally {
      stop.abort();
      await done;
    }
  });

  it('pyres-admin: `workers prune` and `queues` work', async () => {
    await admin.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Record","args":[1]}').exec();
    const u = url('pyres-admin', acl['pyres-admin']!.password);
    const p = await runCli(['workers', 'prune', '--dsn', u]);
    expect({ code: p.code, err: p.stderr }).toEqual({ code: 0, err: '' });
    const q = await runCli(['queues', '--dsn', u]);
    expect({ code: q.code, err: q.stderr }).toEqual({ code: 0, err: '' });
    expect(q.stdout).toMatch(/q\s+1/);
  });
});
