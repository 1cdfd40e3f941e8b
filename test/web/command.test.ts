/**
 * `pyres-ts web`: --dsn syntax, option defaults, and the command's lifecycle (start, serve,
 * stop on signal) against the suite's shared redis-server.
 */
import yargs from 'yargs';
import { type WebArgs, parseAuth, runWeb, serversFromArgs, webBuilder } from '../../src/cli/webCommand';
import { ConfigError } from '../../src/errors';
import { parseDsnList } from '../../src/web/dsn';
import { flushTestDb, testDbUrl } from '../support/redisServer';

describe('--dsn', () => {
  const d = { namespace: 'resque' };

  it('takes URLs with ?namespace= and ?name=, pyres_web host:port, and Resque.redis strings', () => {
    const s = parseDsnList('redis://a:6379,redis://:pw@b:6380/2?namespace=jobs&name=prod, c:7000 ,d,e:7001:3,f:7002/ns', d);
    expect(s.map(x => [x.id, x.label, x.namespace])).toEqual([
      [0, 'a:6379', 'resque'],
      [1, 'prod', 'jobs'],
      [2, 'c:7000', 'resque'],
      [3, 'd:6379', 'resque'],
      [4, 'e:7001/3', 'resque'],
      [5, 'f:7002 (ns)', 'ns'],
    ]);
    expect(s[1]!.connection.url).toBe('redis://:pw@b:6380/2');
    expect(s[2]!.connection).toEqual({ host: 'c', port: 7000 });
    expect(s[4]!.connection).toEqual({ host: 'e', port: 7001, db: 3 });
  });

  it('never shows a password, applies --password and --namespace, dedupes labels', () => {
    const s = parseDsnList(['redis://u:secret@h:1', 'h:1', 'h:1'], { namespace: 'other', password: 'pw' });
    expect(s.map(x => x.label)).toEqual(['h:1 (other)', 'h:1 (other) #2', 'h:1 (other) #3']);
    expect(s[0]!.connection.password).toBeUndefined(); // the URL has its own
    expect(s[1]!.connection.password).toBe('pw');
    expect(JSON.stringify(s.map(x => x.label))).not.toContain('secret');
  });

  it('refuses what it cannot read, naming the entry (without its password)', () => {
    expect(() => parseDsnList('', d)).toThrow(ConfigError);
    expect(() => parseDsnList('redis://u:secret@h:1/ns', d)).toThrow(/path must be a database number; give the namespace as \?namespace=NAME/);
    expect(() => parseDsnList('redis://u:secret@h:1/ns', d)).not.toThrow(/secret/);
    expect(() => parseDsnList('h:99999', d)).toThrow(/bad port/);
    expect(() => parseDsnList('h:x:y', d)).toThrow(/expected redis:\/\//);
  });

  it('without --dsn, the one server of --redis / --host / REDIS_URL', () => {
    const base = { namespace: 'resque', 'log-level': 'info' };
    expect(serversFromArgs({ ...base, redis: 'redis://x:1/2' }, {})).toEqual([
      { id: 0, label: 'x:1/2', namespace: 'resque', connection: { url: 'redis://x:1/2' } },
    ]);
    expect(serversFromArgs({ ...base, namespace: 'ns' }, { REDIS_URL: 'redis://y:2' })[0]).toMatchObject({ label: 'y:2 (ns)', namespace: 'ns' });
    expect(serversFromArgs({ ...base, dsn: ['a:1,b:2', 'c:3'] }, {}).map(x => x.label)).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('--auth is user:password', () => {
    expect(parseAuth('ops:a:b')).toEqual({ username: 'ops', password: 'a:b' });
    expect(parseAuth(undefined)).toBeNull();
    expect(() => parseAuth('ops')).toThrow(ConfigError);
    expect(() => parseAuth(':pw')).toThrow(ConfigError);
  });
});

describe('pyres-ts web', () => {
  const url = testDbUrl();
  beforeEach(() => flushTestDb(url));
  afterAll(() => flushTestDb(url));

  it('defaults: loopback, port 5678, no auth', async () => {
    const a = await webBuilder(yargs([])).parseAsync([]);
    expect(a).toMatchObject({ bind: '127.0.0.1', 'web-port': 5678, namespace: 'resque' });
    expect(a.auth).toBeUndefined();
  });

  it('serves until stopped, with auth from PYRES_WEB_AUTH, and exits 0', async () => {
    const args = (await webBuilder(yargs([])).parseAsync(['--dsn', url, '--web-port', '0', '--log-level', 'error'])) as unknown as WebArgs;
    const stop = new AbortController();
    let listening = '';
    const done = runWeb(args, { env: { PYRES_WEB_AUTH: 'ops:pw' }, signal: stop.signal, onListening: u => (listening = u) });
    for (let i = 0; i < 100 && !listening; i++) await new Promise(r => setTimeout(r, 20));
    expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const anon = await fetch(`${listening}/`);
    expect(anon.status).toBe(401);
    await anon.text();
    const ok = await fetch(`${listening}/queues`, { headers: { Authorization: `Basic ${Buffer.from('ops:pw').toString('base64')}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('No queues.');
    stop.abort();
    await expect(done).resolves.toBe(0);
    await expect(fetch(`${listening}/`)).rejects.toThrow();
  });

  it('a port in use is a usage error', async () => {
    const args = (await webBuilder(yargs([])).parseAsync(['--dsn', url, '--web-port', '0', '--log-level', 'error'])) as unknown as WebArgs;
    const stop = new AbortController();
    let listening = '';
    const first = runWeb(args, { env: {}, signal: stop.signal, onListening: u => (listening = u) });
    for (let i = 0; i < 100 && !listening; i++) await new Promise(r => setTimeout(r, 20));
    const port = Number(new URL(listening).port);
    await expect(runWeb({ ...args, 'web-port': port }, { env: {} })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+/);
    stop.abort();
    await first;
  });
});
