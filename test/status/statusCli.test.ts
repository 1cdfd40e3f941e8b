/**
 * `pyres-ts status-of`, `kill` and `statuses` (the built bin against a real Redis): output, exit
 * codes, and one-line errors naming the bad flag.
 */
import { Client } from '../../src/producer/client';
import { runCli } from '../support/spawn';
import { processTestEnv, k } from '../process/helpers';

const env = processTestEnv();

it('status-of, kill, statuses (--state, --json); bad uuid/state are usage errors; an unknown uuid exits 1', async () => {
  const c = await new Client({ connection: { url: env.url } }).connect();
  let u: string;
  try {
    u = (await c.enqueueStatus('statused', 'StatusJob', { total: 3 }))!;
  } finally {
    await c.close();
  }
  const o = { redisUrl: env.url };
  let r = await runCli(['status-of', u], o);
  expect([r.code, r.stdout.trim()]).toEqual([0, `${u}  queued      0%`]);
  r = await runCli(['status-of', u, '--json'], o);
  expect(JSON.parse(r.stdout)).toMatchObject({ uuid: u, status: 'queued', options: { total: 3 }, pct_complete: 0 });
  r = await runCli(['kill', u], o);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`kill requested for ${u} (queued)`);
  expect(await env.redis.smembers(k('_kill'))).toEqual([u]);
  r = await runCli(['statuses', '--state', 'queued', '--json'], o);
  expect(JSON.parse(r.stdout)).toMatchObject({ total: 1, statuses: [{ uuid: u }], killRequested: [u] });
  r = await runCli(['statuses', '--state', 'completed'], o);
  expect(r.stdout.trim()).toBe('0 statuses completed');

  r = await runCli(['statuses', '--state', 'running'], o);
  expect([r.code, r.stderr.trim()]).toEqual([2, 'pyres-ts: --state: "running" is not a status state (queued, working, completed, failed, killed)']);
  r = await runCli(['kill', 'xyz'], o);
  expect([r.code, r.stderr.trim()]).toEqual([2, 'pyres-ts: <uuid>: "xyz" is not a status uuid (32 lowercase hex characters)']);
  r = await runCli(['statuses', '--count', '0'], o);
  expect([r.code, r.stderr.trim()]).toEqual([2, 'pyres-ts: --count must be an integer 1-1000, got 0']);
  r = await runCli(['status-of', '0123456789abcdef0123456789abcdef'], o);
  expect([r.code, r.stderr.trim()]).toEqual([1, 'pyres-ts: no status 0123456789abcdef0123456789abcdef']);
  expect(await env.redis.scard(k('_kill'))).toBe(1);
});
