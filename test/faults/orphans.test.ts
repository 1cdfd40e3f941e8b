/**
 * A master that dies (SIGKILL) leaves children that must finish their job and exit by
 * themselves: an orphan nobody supervises must not go on taking jobs forever.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RedisProc } from './redisProc';
import { CHAOS_JOBS, childPidsOf, client, faultEnv, isRunning, k, sleep, waitFor, workerIdFor } from './helpers';
import type Redis from 'ioredis';

const env = faultEnv();
let srv: RedisProc;
let r: Redis;

beforeAll(async () => {
  srv = await RedisProc.start();
  r = client(srv.url);
});
afterAll(() => {
  r?.disconnect();
});
beforeEach(async () => {
  await r.flushall();
});

describe('children of a SIGKILLed master', () => {
  it('registered and busy: each finishes its job, unregisters and exits', async () => {
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS], srv.url);
    await m.waitForLine(/all children registered/, 20000);
    const kids = childPidsOf(m.pid);
    await r.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Hold","args":["orphan-job",1]}').exec();
    await env.waitForLedger(/^start orphan-job /);
    m.kill('SIGKILL');
    await waitFor(() => kids.every(p => !isRunning(p)), 10000, 'the orphans to exit');
    expect(env.ledgerLines().filter(l => l.startsWith('done orphan-job'))).toHaveLength(1);
    expect(await r.scard(k('workers'))).toBe(0);
    expect(await r.llen(k('failed'))).toBe(0);
  });

  it('still starting when the master dies: they exit too (and take no job)', async () => {
    // A --worker-init that takes a while keeps the children in their start-up when the master
    // dies. BUG (src/master/childMain.ts main): the 'disconnect' listener is installed only
    // after worker-init and the job modules are loaded; a master that dies before that is
    // never noticed, and the orphan registers and works jobs for ever, unsupervised (the
    // chaos soak finds these as "orphans still running 10 s after stop").
    const init = path.join(env.tmp, 'slow-init.js');
    fs.writeFileSync(init, 'module.exports = () => new Promise(r => setTimeout(r, 1500));\n');
    const m = env.cli(['master', '--workers', 'q=2', '--jobs', CHAOS_JOBS, '--worker-init', init], srv.url);
    const kids = await waitFor(
      () => {
        const c = childPidsOf(m.pid);
        return c.length === 2 ? c : null;
      },
      10000,
      'two children',
    );
    await sleep(200);
    m.kill('SIGKILL');
    await m.waitForEnd(5000);
    // Work arrives after the master is gone: no orphan should take it.
    await r.pipeline().sadd(k('queues'), 'q').rpush(k('queue:q'), '{"class":"Record","args":["for-nobody"]}').exec();
    const gone = await waitFor(() => kids.every(p => !isRunning(p)), 10000, 'the orphans to exit').catch(() => false);
    const left = kids.filter(isRunning);
    const registered = (await r.smembers(k('workers'))).filter(id => kids.some(p => id === workerIdFor(p, 'q')));
    expect({ gone, left, registered, tookJob: env.ledgerLines().includes('ok "for-nobody"') }).toEqual({
      gone: true,
      left: [],
      registered: [],
      tookJob: false,
    });
  });
});
