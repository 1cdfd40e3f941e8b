/**
 * `pyres-ts queues`, `workers list|prune`, `failed list|retry|remove|clear|retry-all|
 * clear-retried`, through the same yargs wiring main.ts uses, against two real redis-servers.
 */
import { readPidNamespace } from '../../src/worker/pidNamespace';
import * as net from 'node:net';
import { hostname } from 'node:os';
import yargs from 'yargs';
import { registerAdminCommands } from '../../src/cli/adminCommands';
import { PyresError, coerceError } from '../../src/errors';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { MASTER_ID, RUBY_FAILURES, client, closeClients, seed } from '../web/helpers';

let a: RedisServerHandle;
let b: RedisServerHandle;
let dsn: string;
let labelA: string;

beforeAll(async () => {
  a = await startRedis();
  b = await startRedis();
  dsn = `${a.url},${b.url}?namespace=jobs&name=server-b`;
  labelA = `127.0.0.1:${a.port}`;
});
afterAll(async () => {
  await closeClients();
  await a?.stop();
  await b?.stop();
});
beforeEach(() => seed(a.url, b.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs `pyres-ts <args>` as main.ts will (strict yargs, errors become exit 2 / 1). */
async function cli(...args: string[]): Promise<Run> {
  let code = 0;
  let out = '';
  let err = '';
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    const y = yargs(args)
      .scriptName('pyres-ts')
      .strict()
      .demandCommand(1)
      .fail((msg, e) => {
        throw e ?? new PyresError(msg);
      });
    await registerAdminCommands(y, n => (code = n)).parseAsync();
  } catch (e) {
    err += `pyres-ts: ${coerceError(e).message}\n`;
    code = e instanceof PyresError ? 2 : 1;
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  return { code, out, err };
}

describe('queues', () => {
  it('shows the union with a per-server breakdown', async () => {
    const r = await cli('queues', '--dsn', dsn);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      `QUEUE  JOBS  ${labelA}  server-b`,
      `other     1  ${'-'.padStart(labelA.length)}         1`,
      `p10       3  ${'2'.padStart(labelA.length)}         1`,
      `p9        0  ${'0'.padStart(labelA.length)}         -`,
      '',
    ]);
  });

  it('--json, and one server with --redis', async () => {
    const r = await cli('queues', '--dsn', dsn, '--json');
    expect(JSON.parse(r.out)).toEqual({
      servers: [
        { id: 0, label: labelA, namespace: 'resque', ok: true },
        { id: 1, label: 'server-b', namespace: 'jobs', ok: true },
      ],
      queues: [
        { queue: 'other', total: 1, sizes: { 'server-b': 1 } },
        { queue: 'p10', total: 3, sizes: { [labelA]: 2, 'server-b': 1 } },
        { queue: 'p9', total: 0, sizes: { [labelA]: 0 } },
      ],
    });
    const one = await cli('queues', '--redis', a.url);
    expect(one.out).toBe('QUEUE  JOBS\np10       2\np9        0\n');
    const ns = await cli('queues', '--redis', b.url, '--namespace', 'jobs', '--json');
    expect((JSON.parse(ns.out) as { queues: unknown[] }).queues).toHaveLength(2);
  });

  it('a server that is down: the others are shown, stderr names it, exit 1', async () => {
    const dead = await new Promise<number>(resolve => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await cli('queues', '--dsn', `${a.url},127.0.0.1:${dead}`);
    expect(r.code).toBe(1);
    expect(r.out).toContain('p10       2');
    expect(r.err).toContain(`pyres-ts: 127.0.0.1:${dead} is down: Redis at redis://127.0.0.1:${dead} is unreachable: connect ECONNREFUSED`);
  });
});

describe('workers', () => {
  it('list: host, pid, queues, started, job, stats, master; --json', async () => {
    const r = await cli('workers', 'list', '--dsn', dsn);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^SERVER\s+HOST\s+PID\s+QUEUES\s+STARTED\s+DOING\s+PROCESSED\s+FAILED\s+MASTER$/);
    expect(lines.find(l => l.includes('9413'))).toMatch(
      /vm\s+9413\s+p9\s+2026-11-22 22:13:30 \+0000\s+MixedJob from p9 since 2026-11-22T22:13:31Z\s+7\s+2\s+-$/,
    );
    expect(lines.find(l => l.includes('2001'))).toMatch(
      new RegExp(`^server-b\\s+hostb\\s+2001\\s+other\\s+2026-11-22 22:00:01 \\+0000\\s+OtherJob from other .*${MASTER_ID}$`),
    );
    const j = JSON.parse((await cli('workers', 'list', '--dsn', dsn, '--json')).out) as { workers: Array<Record<string, unknown>> };
    expect(j.workers.map(w => [w['id'], w['master']])).toEqual([
      ['vm:9413:p9', null],
      ['vm:9414:p8,p7', null],
      ['hostb:2001:other', MASTER_ID],
    ]);
    expect(j.workers[0]).toMatchObject({
      host: 'vm',
      pid: 9413,
      queues: ['p9'],
      processed: 7,
      failed: 2,
      job: { queue: 'p9', className: 'MixedJob', runAt: '2026-11-22T22:13:31Z' },
    });
  });

  it('prune: dead heartbeats anywhere and dead pids on this host (recorded in our PID namespace), their jobs recorded as Ruby does', async () => {
    const r0 = client(a.url);
    const gone = `${hostname()}:999999:p10`;
    await r0.sadd('resque:workers', gone);
    // The pid rule applies only to a worker that recorded this PID namespace (pyres-ts does at registration).
    await r0.hset('resque:pyres-ts:pidns', gone, readPidNamespace()!);
    // Same host, dead pid, but no namespace record (a Ruby worker, or one in a container): left to its heartbeat.
    await r0.sadd('resque:workers', `${hostname()}:999998:p10`);
    await r0.set(`resque:worker:${gone}`, '{"queue":"p10","run_at":"2026-11-22T22:13:31Z","payload":{"class":"LostJob","args":[1.0]}}');
    await r0.hset('resque:workers:heartbeat', 'vm:9414:p8,p7', '2020-01-01T00:00:00+00:00');
    // A live worker on another host (fresh heartbeat) is left alone; the seed's vm:9413 may be
    // "this host" on a machine called vm, so it is replaced.
    await r0.srem('resque:workers', 'vm:9413:p9');
    await r0.hdel('resque:workers:heartbeat', 'vm:9413:p9');
    await r0.sadd('resque:workers', 'elsewhere-host:9413:p9');
    const [now] = await r0.time();
    await r0.hset('resque:workers:heartbeat', 'elsewhere-host:9413:p9', new Date(Number(now) * 1000).toISOString().replace(/\.\d+Z$/, '+00:00'));
    const r = await cli('workers', 'prune', '--redis', a.url);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pruned 2 dead workers: /);
    expect((await r0.smembers('resque:workers')).sort()).toEqual(['elsewhere-host:9413:p9', `${hostname()}:999998:p10`].sort());
    const last = await r0.lindex('resque:failed', -1);
    expect(last).toMatch(
      /^\{"failed_at":"[^"]+ UTC","payload":\{"class":"LostJob","args":\[1\.0\]\},"exception":"Resque::DirtyExit","error":"Job still being processed","backtrace":\[\],"worker":"[^"]+:999999:p10","queue":"p10"\}$/,
    );
    const again = await cli('workers', 'prune', '--redis', a.url, '--json');
    expect(JSON.parse(again.out)).toEqual({ servers: [{ server: labelA, ok: true, pruned: [] }] });
  });

  it("prune --on-dirty-exit requeue: a dead worker's job goes back to the head of its queue, byte for byte, no failure record; a bad value is one line naming the flag", async () => {
    const r0 = client(a.url);
    const gone = `${hostname()}:999997:p10`;
    const payload = '{"class":"LostJob","args":[1.0,18446744073709551616]}';
    await r0.sadd('resque:workers', gone);
    await r0.hset('resque:pyres-ts:pidns', gone, readPidNamespace()!);
    await r0.set(`resque:worker:${gone}`, `{"queue":"p10","run_at":"2026-11-22T22:13:31Z","payload":${payload}}`);
    await r0.rpush('resque:queue:p10', '{"class":"Behind","args":[]}');
    const failedBefore = await r0.llen('resque:failed');
    const bad = await cli('workers', 'prune', '--redis', a.url, '--on-dirty-exit', 'retry');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--on-dirty-exit.*must be 'fail' or 'requeue', got "retry"/);
    expect(await r0.sismember('resque:workers', gone)).toBe(1);
    const r = await cli('workers', 'prune', '--redis', a.url, '--on-dirty-exit', 'requeue');
    expect(r.code).toBe(0);
    expect(r.out).toContain(gone);
    expect(await r0.lindex('resque:queue:p10', 0)).toBe(payload);
    expect(await r0.llen('resque:failed')).toBe(failedBefore);
    expect(await r0.sismember('resque:workers', gone)).toBe(0);
  });
});

describe('failed', () => {
  it('list: newest first with index and id; --json carries the record; --show filters', async () => {
    const r = await cli('failed', 'list', '--dsn', dsn);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe(`${labelA}: 3 failed jobs, showing 3, newest first`);
    expect(lines[1]).toMatch(/^ {2}#2 {2}id [0-9a-f]{10} {2}2026\/11\/22 22:13:02 UTC {2}FailingJob on p9 {2}ArgumentError: boom: \["f2"\]$/);
    expect(lines[4]).toBe('server-b: 1 failed job, showing 1, newest first');
    const j = JSON.parse((await cli('failed', 'list', '--dsn', dsn, '--server', '0', '--order', 'asc', '--count', '2', '--json')).out) as {
      servers: Array<{ total: number; items: Array<{ index: number; id: string; raw: string; className: string }> }>;
    };
    expect(j.servers).toHaveLength(1);
    expect(j.servers[0]!.total).toBe(3);
    expect(j.servers[0]!.items.map(i => [i.index, i.raw])).toEqual([
      [0, RUBY_FAILURES[0]],
      [1, RUBY_FAILURES[1]],
    ]);
    expect(j.servers[0]!.items[0]!.id).toMatch(/^[0-9a-f]{40}$/);
    await cli('failed', 'retry', '1', '--dsn', dsn, '--server', '0');
    const pending = await cli('failed', 'list', '--redis', a.url, '--show', 'pending');
    expect(pending.out.split('\n')[0]).toBe(`${labelA}: 3 failed jobs (2 not retried), showing 2, newest first`);
    const retried = await cli('failed', 'list', '--redis', a.url, '--show', 'retried');
    expect(retried.out).toMatch(/#1 .*\[retried \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d UTC\]/);
  });

  it('retry and remove need --server with several servers; --id pins the record', async () => {
    let r = await cli('failed', 'retry', '0', '--dsn', dsn);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`several servers: say which with --server (0=${labelA}, 1=server-b)`);
    r = await cli('failed', 'retry', '--dsn', dsn, '--server', '0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('needs the index of a failure');
    r = await cli('failed', 'retry', '0', '--dsn', dsn, '--server', 'server-b', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ server: 'server-b', index: 0, queue: 'other', job: '{"class":"BFail","args":["x"]}', list: 'failed' });
    expect(await client(b.url).lrange('jobs:queue:other', 0, -1)).toEqual(['{"class":"OtherJob","args":[]}', '{"class":"BFail","args":["x"]}']);

    const list = JSON.parse((await cli('failed', 'list', '--redis', a.url, '--json', '--order', 'asc')).out) as {
      servers: Array<{ items: Array<{ id: string }> }>;
    };
    const f2 = list.servers[0]!.items[2]!.id.slice(0, 10);
    // index 0 is not f2: with --id, the record is found where it is (index 2)
    r = await cli('failed', 'remove', '0', '--redis', a.url, '--id', f2);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`removed failure 2 on ${labelA}\n`);
    r = await cli('failed', 'remove', '0', '--redis', a.url, '--id', f2);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/failure 0 \([0-9a-f]+\) on .* is gone/);
    r = await cli('failed', 'retry', '0', '--redis', a.url, '--id', 'xyz');
    expect(r.code).toBe(2);
    expect(await client(a.url).llen('resque:failed')).toBe(2);
  });

  it('retry-all skips what was retried; clear-retried; clear; --server all', async () => {
    let r = await cli('failed', 'retry-all', '--dsn', dsn);
    expect(r.code).toBe(2);
    r = await cli('failed', 'retry-all', '--dsn', dsn, '--server', 'all');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${labelA}: retried 3, skipped 0 already retried\nserver-b: retried 1, skipped 0 already retried\n`);
    r = await cli('failed', 'retry-all', '--dsn', dsn, '--server', 'all', '--json');
    expect(JSON.parse(r.out)).toEqual({
      servers: [
        { server: labelA, ok: true, retried: 0, alreadyRetried: 3, notRetryable: 0, gone: 0 },
        { server: 'server-b', ok: true, retried: 0, alreadyRetried: 1, notRetryable: 0, gone: 0 },
      ],
    });
    expect(await client(a.url).lrange('resque:queue:p10', 2, -1)).toEqual(['{"class":"FailingJob","args":["f0"]}', '{"class":"FailingJob","args":["f1"]}']);
    r = await cli('failed', 'clear-retried', '--dsn', dsn, '--server', '1');
    expect(r.out).toBe('server-b: removed 1 retried failure\n');
    r = await cli('failed', 'clear', '--redis', a.url);
    expect(r.out).toBe(`${labelA}: cleared 3 failures\n`);
    expect(await client(a.url).exists('resque:failed')).toBe(0);
    r = await cli('failed', 'list', '--redis', a.url);
    expect(r.out).toBe(`${labelA}: 0 failed jobs\n`);
    r = await cli('failed', 'retry', '0', '--redis', a.url, '--server', 'all');
    expect(r.code).toBe(2);
  });
});
