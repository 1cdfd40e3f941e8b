/**
 * A secured connection against a real redis-server: TLS only (`--port 0 --tls-port P`), an ACL
 * user with a password and the default user off. Certificates are made in the test (openssl).
 * Secrets never appear in logs or process titles; bad credentials and bad certificates give one
 * clear line, not a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { RedisProc } from '../faults/redisProc';
import { argsOf, CHAOS_JOBS, childPidsOf, countLines, faultEnv, k, sleep, stackLines, waitFor, workerIdFor } from '../faults/helpers';
import { type Certs, makeCerts } from './certs';
import type { Spawned } from '../support/spawn';

const env = faultEnv();
const PASSWORD = 'Sup3r-S3cret-pw';
const ACL = ['--user', 'app', 'on', `>${PASSWORD}`, '~*', '&*', '+@all', '--user', 'default', 'off'];

let certDir: string;
let certs: Certs;
let srv: RedisProc; // TLS, client certificates optional
let strict: RedisProc; // TLS, client certificate required
let admin: Redis;

function tlsUrl(port: number, password = PASSWORD): string {
  return `rediss://app:${encodeURIComponent(password)}@127.0.0.1:${port}`;
}

function adminClient(port: number, withCert = false): Redis {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    username: 'app',
    password: PASSWORD,
    tls: { ca: fs.readFileSync(certs.ca), ...(withCert ? { cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) } : {}) },
    maxRetriesPerRequest: 3,
    disconnectTimeout: 50,
  });
  r.on('error', () => undefined);
  return r;
}

/** Everything the process printed, and its title now. */
function exposed(p: Spawned): string {
  return `${p.stdout()}\n${p.stderr()}\n${argsOf(p.pid)}`;
}

beforeAll(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-certs-'));
  certs = makeCerts(certDir);
  const tls = { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca };
  srv = await RedisProc.start({ tls: { ...tls, authClients: 'optional' }, extraArgs: ACL });
  strict = await RedisProc.start({ tls: { ...tls, authClients: 'yes', probeCert: certs.clientCert, probeKey: certs.clientKey }, extraArgs: ACL });
  admin = adminClient(srv.port);
}, 60000);

afterAll(() => {
  admin?.disconnect();
  fs.rmSync(certDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await admin.flushall();
});

describe('rediss:// with an ACL user and password', () => {
  it('the server really is TLS-only with the default user off', async () => {
    const plain = new Redis({ host: '127.0.0.1', port: srv.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    plain.on('error', () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
    const noUser = new Redis({
      host: '127.0.0.1',
      port: srv.port,
      tls: { ca: fs.readFileSync(certs.ca) },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    noUser.on('error', () => undefined);
    await expect(noUser.connect().then(() => noUser.ping())).rejects.toThrow();
    noUser.disconnect();
    expect(await admin.ping()).toBe('PONG');
  });

  it('a worker (--redis rediss://app:***@ --tls-ca) registers as user app and works a job', async () => {
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port), '--tls-ca', certs.ca], '');
    await w.waitForLine(/registered;/, 15000);
    const id = workerIdFor(w.pid, 'q');
    expect(await admin.sismember(k('workers'), id)).toBe(1);
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const mine = list.split('\n').filter(l => l.includes(`name=pyres-ts:worker:${w.pid}`));
    expect(mine.length).toBeGreaterThanOrEqual(1);
    for (const l of mine) expect(l).toMatch(/ user=app /);
    await admin.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Record","args":["over-tls"]}').exec();
    await env.waitForLedger(/^ok "over-tls"$/);
    w.kill('SIGQUIT');
    expect(await w.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(await admin.sismember(k('workers'), id)).toBe(0);
    expect(exposed(w)).not.toContain(PASSWORD);
  });

  it('the password is in no log line and no process title: worker, master and children', async () => {
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port), '--tls-ca', certs.ca, '-l', 'debug'], '');
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port), '--tls-ca', certs.ca, '-l', 'debug'], '');
    await w.waitForLine(/registered;/, 15000);
    await m.waitForLine(/all children registered/, 20000);
    await sleep(300);
    const kids = childPidsOf(m.pid);
    expect(kids).toHaveLength(2);
    expect(argsOf(w.pid)).toMatch(/^resque-\d\S* pyres_worker /);
    expect(argsOf(m.pid)).toMatch(/^pyres_manager /);
    for (const pid of [w.pid, m.pid, ...kids]) expect(argsOf(pid)).not.toContain(PASSWORD);
    // a job, a failure, a connection drop and a stop: all logged, none with the secret
    await admin.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Throw","args":["error","x"]}', '{"class":"Record","args":["y"]}').exec();
    await waitFor(async () => (await admin.llen(k('queue:q'))) === 0, 10000, 'the queue to drain');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await waitFor(() => countLines(w, /connection back/) >= 1, 10000, 'the worker to reconnect');
    w.kill('SIGTERM');
    m.kill('SIGTERM');
    await w.waitForEnd(10000);
    await m.waitForEnd(20000);
    for (const p of [w, m]) {
      expect(exposed(p)).not.toContain(PASSWORD);
      expect(p.lines().some(l => l.includes('app:***@'))).toBe(true);
    }
  });

  it('REDIS_URL carrying the password: the secret never even reaches argv', async () => {
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--tls-ca', certs.ca], tlsUrl(srv.port));
    await w.waitForLine(/registered;/, 15000);
    expect(await admin.sismember(k('workers'), workerIdFor(w.pid, 'q'))).toBe(1);
    w.kill('SIGQUIT');
    await w.waitForEnd(10000);
    expect(exposed(w)).not.toContain(PASSWORD);
  });

  it('REDIS_PASSWORD (or --password) with a URL that names the ACL user, rediss://app@host', async () => {
    // BUG (src/store/connection.ts redisOptions/createRedis): new Redis(url, options) lets the
    // URL's fields win, and ioredis parses `rediss://app@host` as password '' - so the
    // REDIS_PASSWORD / --password the README recommends is silently dropped and the server
    // answers WRONGPASS. An ACL user's secret can then only be given inside the URL.
    const url = `rediss://app@127.0.0.1:${srv.port}`;
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--tls-ca', certs.ca], url, { REDIS_PASSWORD: PASSWORD });
    const first = await w.waitForLine(/registered;|cannot connect/, 15000);
    expect(first).toMatch(/registered;/);
    expect(await admin.sismember(k('workers'), workerIdFor(w.pid, 'q'))).toBe(1);
    w.kill('SIGQUIT');
    await w.waitForEnd(10000);
    expect(exposed(w)).not.toContain(PASSWORD);
  });

  it('a wrong password: one clear line (WRONGPASS, password not echoed), no stack trace, and no "retrying" followed by exit 0', async () => {
    const wrong = 'Wr0ng-pw-XYZ';
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port, wrong), '--tls-ca', certs.ca], '');
    const line = await w.waitForLine(/WRONGPASS|invalid username-password/, 15000);
    expect(line).toContain('app:***@');
    await sleep(2500);
    expect(stackLines(w)).toEqual([]);
    expect(exposed(w)).not.toContain(wrong);
    expect(countLines(w, /WRONGPASS|invalid username-password|cannot connect/)).toBe(1);
    // Either it keeps retrying (an operator may fix the ACL) or it exits non-zero. BUG
    // (src/worker/worker.ts Worker.start + RedisStore.waitUntilReady): it logs "retrying until
    // Redis answers", waitUntilReady's PING is rejected (NOAUTH), start() gives up silently and
    // the process exits 0, which a supervisor reads as a clean, intended stop.
    const res = w.exitResult;
    if (res) expect(res.code).not.toBe(0);
    else expect(w.exited).toBe(false);
    expect(await admin.scard(k('workers'))).toBe(0);
  });

  it('the master with a wrong password: one clear line, not one per child respawn', async () => {
    const wrong = 'Wr0ng-pw-XYZ';
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port, wrong), '--tls-ca', certs.ca], '');
    await m.waitForLine(/WRONGPASS|invalid username-password/, 15000);
    await sleep(4000);
    expect(stackLines(m)).toEqual([]);
    expect(exposed(m)).not.toContain(wrong);
    expect(countLines(m, /WRONGPASS|invalid username-password/)).toBe(1);
  });
});

describe('TLS certificates', () => {
  it('a server that requires a client certificate: refused without one (one line), works with --tls-cert/--tls-key', async () => {
    const no = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(strict.port), '--tls-ca', certs.ca], '');
    await no.waitForLine(/cannot connect to Redis at rediss:\/\/app:\*\*\*@127\.0\.0\.1/, 15000);
    await sleep(1500);
    expect(stackLines(no)).toEqual([]);
    expect(countLines(no, /cannot connect/)).toBe(1);
    no.kill('SIGTERM');
    await no.waitForEnd(10000);

    const yes = env.cli(
      [
        'worker',
        '--queues',
        'q',
        '--jobs',
        CHAOS_JOBS,
        '--redis',
        tlsUrl(strict.port),
        '--tls-ca',
        certs.ca,
        '--tls-cert',
        certs.clientCert,
        '--tls-key',
        certs.clientKey,
      ],
      '',
    );
    await yes.waitForLine(/registered;/, 15000);
    const a = adminClient(strict.port, true);
    try {
      expect(await a.sismember(k('workers'), workerIdFor(yes.pid, 'q'))).toBe(1);
      await a.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Record","args":["mtls"]}').exec();
      await env.waitForLedger(/^ok "mtls"$/);
    } finally {
      a.disconnect();
    }
    yes.kill('SIGQUIT');
    expect(await yes.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('a server certificate signed by a CA we do not trust is refused: one clear line, no stack trace', async () => {
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port), '--tls-ca', certs.otherCa], '');
    const line = await w.waitForLine(/cannot connect to Redis/, 15000);
    expect(line).toMatch(/certificate|self.signed|verify/i);
    await sleep(1500);
    expect(stackLines(w)).toEqual([]);
    expect(countLines(w, /cannot connect|certificate/i)).toBe(1);
    expect(await admin.scard(k('workers'))).toBe(0);
  });

  it('a --tls-ca file that does not exist: one line naming the option, exit 2', async () => {
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--redis', tlsUrl(srv.port), '--tls-ca', path.join(certDir, 'nope.pem')], '');
    const res = await w.waitForEnd(10000);
    const lines = w.lines().filter(l => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/nope\.pem/);
    expect(stackLines(w)).toEqual([]);
    // README: "A wrong flag or value gets a one-line message naming it and exit status 2".
    // BUG (minor, src/store/connection.ts redisOptions): readFileSync's ENOENT is not a
    // ConfigError, so the CLI exits 1 with "ENOENT: no such file or directory, open ..." and
    // does not name --tls-ca.
    expect({ code: res.code, namesOption: /--tls-ca/.test(lines[0]!) }).toEqual({ code: 2, namesOption: true });
  });
});
