/**
 * `/readyz` follows Redis (issue 14): a real worker and a real master with `--metrics-port`
 * over a private redis-server that the test SIGSTOPs (the process is there, the socket open,
 * nothing answers) and SIGCONTs. /readyz answers 503 while Redis is silent and 200 again after,
 * /healthz stays 200 throughout (the process and its event loop are fine), and the outage is
 * counted in `pyres_redis_errors_total`.
 */
import * as path from 'node:path';
import { BASIC_JOBS } from '../master/helpers';
import { faultEnv, waitFor } from '../faults/helpers';
import { RedisProc } from '../faults/redisProc';
import { PROJECT_ROOT, type Spawned } from '../support/spawn';
import { get, metricsPortOf, sample } from './helpers';

const env = faultEnv();
const JOBS_ABS = path.join(PROJECT_ROOT, BASIC_JOBS);
let srv: RedisProc;

beforeEach(async () => {
  srv = await RedisProc.start();
});
afterEach(async () => {
  if (srv.proc) srv.proc.kill('SIGCONT');
  await srv.destroy();
});

async function flipsWithRedis(p: Spawned, readyBody: RegExp): Promise<void> {
  const base = `http://127.0.0.1:${await metricsPortOf(p)}`;
  let last = '';
  const readyz = async (): Promise<number> => {
    const r = await get(`${base}/readyz`);
    last = `${r.status} ${r.body}`;
    return r.status;
  };
  await waitFor(
    async () => (await readyz()) === 200,
    10000,
    () => `/readyz 200 (last: ${last})`,
  );
  expect(last).toMatch(readyBody);

  srv.proc!.kill('SIGSTOP');
  await waitFor(
    async () => (await readyz()) === 503,
    10000,
    () => `/readyz 503 while Redis is stopped (last: ${last})`,
  );
  expect(last).toMatch(/^503 not ready: Redis does not answer/);
  expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
  // The silent socket is dropped (--redis-timeout 1): one outage counted.
  let text = '';
  await waitFor(
    async () => (sample((text = (await get(`${base}/metrics`, 10000)).body), 'pyres_redis_errors_total') ?? 0) >= 1,
    15000,
    () => `pyres_redis_errors_total >= 1 (${sample(text, 'pyres_redis_errors_total')})`,
  );
  expect(sample(text, 'pyres_ready')).toBe(0);

  srv.proc!.kill('SIGCONT');
  await waitFor(
    async () => (await readyz()) === 200,
    15000,
    () => `/readyz 200 again after SIGCONT (last: ${last})`,
  );
  expect(last).toMatch(readyBody);
  p.kill('SIGTERM');
  expect(await p.waitForEnd(20000)).toEqual({ code: 0, signal: null });
}

describe('/readyz flips with Redis (SIGSTOP / SIGCONT)', () => {
  it('a worker', async () => {
    const w = env.cli(['worker', '--queues', 'rq', '--jobs', JOBS_ABS, '--redis-timeout', '1', '--metrics-port', '127.0.0.1:0'], srv.url);
    await flipsWithRedis(w, /^200 ready: registered as /);
  });

  it('a master (ready = every child registered and Redis answering)', async () => {
    const m = env.cli(['master', '--queues', 'rq', '--pool', '2', '--jobs', JOBS_ABS, '--redis-timeout', '1', '--metrics-port', '127.0.0.1:0'], srv.url);
    await flipsWithRedis(m, /^200 ready: 2 of 2 children registered/);
  });
});
