/**
 * The dashboard's Retries page (issue 12; resque-web's Retry tab, captured w1) over a real
 * redis-server, seeded with the captured keys: the pending retry with its attempt, next run and
 * suppressed failure; Remove sends the commands resque-web's "remove" sent (MONITOR vs the
 * capture); hostile items (not JSON, a missing counter) are broken rows, never a 500.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { runRetriesCommand } from '../../src/cli/retriesCommand';
import { ConfigError } from '../../src/errors';
import { parseDsnList } from '../../src/web/dsn';
import { type WebServer, startWebServer } from '../../src/web/server';
import { openMonitor } from '../support/monitor';
import { type LoggedCommand, loadMonitorLog } from '../support/monitorLog';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { FIXTURES } from '../unit/fixtureData';
import { Session, flashOf } from './helpers';

const W1 = 'plugins/w1-resque-web-plugin-tabs';
const ITEM = '{"class":"RetryWebJob","args":["w",7],"queue":"p9"}';
const TS = '1796105338';
const KEY = 'resque-retry:RetryWebJob:cbbf90f9a82817c8bada4dec0e9b9e3d2b2127e0';

interface KeyDump {
  [key: string]: { type: string; value: unknown };
}

let srv: RedisServerHandle;
let web: WebServer;
let r: Redis;

async function seedCapture(): Promise<void> {
  const dump = (JSON.parse(readFileSync(join(FIXTURES, W1, 'keys.json'), 'utf8')) as { keys: KeyDump }).keys;
  for (const [k, v] of Object.entries(dump)) {
    if (v.type === 'list') await r.rpush(k, ...(v.value as string[]));
    else if (v.type === 'set') await r.sadd(k, ...(v.value as string[]));
    else if (v.type === 'zset') for (const [m, s] of v.value as Array<[string, number]>) await r.zadd(k, s, m);
    else if (v.type === 'hash') await r.hset(k, v.value as Record<string, string>);
    else await r.set(k, v.value as string);
  }
}

beforeAll(async () => {
  srv = await startRedis();
  r = new Redis(srv.url);
  const dashboard = new Dashboard(parseDsnList(srv.url, { namespace: 'resque' }));
  await dashboard.connect();
  web = await startWebServer({ dashboard, port: 0, sampleHistory: false });
});
afterAll(async () => {
  r.disconnect();
  await web.close();
  await srv.stop();
});
beforeEach(async () => {
  await r.flushall();
  await seedCapture();
});

/** MONITOR on its own connection; `cmds()` waits for a marker PING so everything before it is in. */
async function monitor(): Promise<{ cmds: () => Promise<LoggedCommand[]>; stop: () => void }> {
  const m = await openMonitor(srv.url);
  const seen: LoggedCommand[] = [];
  const marks = new Set<string>();
  m.on('monitor', (time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'ping' && String(args[1]).startsWith('mark-')) marks.add(String(args[1]));
    else seen.push({ time: Number(time), source, args: [args[0]!.toLowerCase(), ...args.slice(1)] });
  });
  let n = 0;
  const mark = async (): Promise<void> => {
    const name = `mark-${++n}`;
    await r.ping(name);
    const deadline = Date.now() + 5000;
    while (!marks.has(name)) {
      if (Date.now() > deadline) throw new Error(`MONITOR did not report ${name}`);
      await new Promise(res => setTimeout(res, 5));
    }
  };
  await mark();
  seen.length = 0;
  return {
    cmds: async () => {
      await mark();
      return [...seen];
    },
    stop: () => {
      m.disconnect();
    },
  };
}

describe('Retries page', () => {
  it('shows the captured pending retry as resque-web does: class, args, attempt, next run, the suppressed failure', async () => {
    const page = readFileSync(join(FIXTURES, W1, 'pages/retry.html'), 'utf8');
    const detail = readFileSync(join(FIXTURES, W1, 'pages/retry-1796105338.html'), 'utf8');
    // What resque-web showed for these keys: the values below are in the captured pages.
    for (const s of ['2026-12-01 06:08:58 +0000', 'RetryWebJob']) expect(page).toContain(s);
    for (const s of ['<code>IOError</code>', 'web boom [&quot;w&quot;, 7]']) expect(detail).toContain(s);
    expect(page).toMatch(/<td>RetryWebJob<\/td>\s*<td>\[&quot;w&quot;, 7\]<\/td>\s*<td>0<\/td>/);

    const s = new Session(web.url);
    const p = await s.get('/retries');
    expect(p.status).toBe(200);
    expect(p.text).toContain('href="/retries"');
    const rows = p.text.match(/<tr class="[^"]*" data-ts="[^"]+">[\s\S]*?<\/tr>/g) ?? [];
    expect(rows).toHaveLength(1); // MixedJob, OtherJob… at the other timestamps have no retry key
    const row = rows[0]!;
    expect(row).toContain('2026-12-01 06:08:58 +0000');
    expect(row).toContain('<code>RetryWebJob</code>');
    expect(row).toContain('[&quot;w&quot;,7]');
    expect(row).toContain('<td class="num">0</td>');
    expect(row).toContain('<b>IOError</b>: web boom [&quot;w&quot;, 7]');
    expect(row).toContain('2026/12/01 05:58:58');
    expect(row).not.toContain('badge down');
  });

  it('Remove sends the captured commands (LRANGE, SMEMBERS, LREM, SREM, DEL failure-*, DEL counter) and needs the CSRF token', async () => {
    const s = new Session(web.url);
    await s.get('/retries');
    const refused = await s.post('/retries/action', { _csrf: 'bad', op: 'remove', server: 0, ts: TS, item: ITEM });
    expect(refused.status).toBe(403);
    expect(await r.exists(`resque:${KEY}`)).toBe(1);

    const m = await monitor();
    const res = await s.post('/retries/action', { op: 'remove', server: 0, ts: TS, item: ITEM });
    const cmds = (await m.cmds()).filter(c => c.args.some(a => a.includes('RetryWebJob') || a.includes(`delayed:${TS}`)));
    m.stop();
    expect(res.status).toBe(303);
    const want = loadMonitorLog(`${W1}/pages/POST-retry-1796105338-remove.monitor.log`).map(c => c.args);
    expect(cmds.map(c => c.args)).toEqual(want);
    expect(flashOf((await s.get(res.location!)).text)).toBe(`ok: Removed the retry at ${TS} (${KEY}).`);
    expect(await r.exists(`resque:${KEY}`, `resque:failure-${KEY}`, `resque:timestamps:${ITEM}`, `resque:delayed:${TS}`)).toBe(0);
    expect(await r.lrange('resque:delayed:1796112000', 0, -1)).toHaveLength(2); // others untouched

    const again = await s.act('/retries/action', { op: 'remove', server: 0, ts: TS, item: ITEM });
    expect(flashOf(again.text)).toMatch(/^error: no such retry at 1796105338/);
    const p = await s.get('/retries');
    expect(p.text).toContain('No pending retries.');
  });

  it('renders hostile data as broken rows: a non-JSON delayed item, a missing counter, a non-integer counter, a bad record', async () => {
    await r.rpush(`resque:delayed:${TS}`, 'not json {', '{"class":"Ghost","args":[1],"queue":"q"}', '{"class":"Odd","args":[2]}');
    await r.set('resque:failure-resque-retry:Ghost:356a192b7913b04c54574d18c28d46e6395428ab', '{"exception":"Boom","error":"gone"}');
    await r.set('resque:resque-retry:Odd:da4b9237bacccdf19c0760cab7aec4a8359010b0', 'x');
    await r.set(`resque:failure-${KEY}`, '\u0000 not a record');
    const s = new Session(web.url);
    const p = await s.get('/retries');
    expect(p.status).toBe(200);
    const rows = p.text.match(/<tr class="[^"]*" data-ts="[^"]+">[\s\S]*?<\/tr>/g) ?? [];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toContain('unreadable record');
    expect(rows[1]).toMatch(/class="broken"[\s\S]*badge down">not JSON<[\s\S]*not json \{/);
    expect(rows[1]).toContain('Delayed page');
    expect(rows[2]).toMatch(/class="broken"[\s\S]*<code>Ghost<\/code>[\s\S]*retry counter missing[\s\S]*n\/a[\s\S]*<b>Boom<\/b>: gone/);
    expect(rows[3]).toMatch(/class="broken"[\s\S]*<code>Odd<\/code>[\s\S]*retry counter is not an integer/);
    const a = await s.act('/retries/action', { op: 'remove', server: 0, ts: TS, item: 'not json {' });
    expect(flashOf(a.text)).toMatch(/^error: the item at 1796105338 is not a job \(not JSON\)/);
    expect(await r.lrange(`resque:delayed:${TS}`, 0, -1)).toContain('not json {');
    const b = await s.act('/retries/action', { op: 'explode', server: 0, ts: TS });
    expect(flashOf(b.text)).toBe('error: unknown retries action &quot;explode&quot;');
  });

  it('pyres-ts retries lists the same rows (text and --json); a bad --count is one line naming the flag', async () => {
    await r.rpush(`resque:delayed:${TS}`, 'not json {');
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(`ERR ${t}`) };
    expect(await runRetriesCommand({ redis: srv.url, json: false } as never, io)).toBe(0);
    expect(out[0]).toBe(
      '2 pending retries (delayed timestamps 0.. of 6)\n2026-12-01T06:08:58Z  attempt 0  RetryWebJob ["w",7]  IOError: web boom ["w", 7]\n2026-12-01T06:08:58Z  attempt n/a  "not json {"  [not JSON]',
    );
    expect(await runRetriesCommand({ redis: srv.url, json: true } as never, io)).toBe(0);
    const j = JSON.parse(out[1]!) as { timestamps: number; retries: Array<Record<string, unknown>> };
    expect(j.timestamps).toBe(6);
    expect(j.retries[0]).toMatchObject({ ts: TS, class: 'RetryWebJob', args: ['w', 7], attempt: '0', key: KEY, exception: 'IOError' });
    expect(j.retries[1]).toMatchObject({ raw: 'not json {', problem: 'not JSON' });
    await expect(runRetriesCommand({ redis: srv.url, json: false, count: 0 } as never, io)).rejects.toThrow(
      new ConfigError('--count must be an integer 1-1000, got 0'),
    );
  });
});
