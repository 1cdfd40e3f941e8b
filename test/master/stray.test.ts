/**
 * A job's promise rejected with no handler in a master's child (Node's default: the child ends,
 * and every slot's job with it): the child logs it and goes on (src/signals.ts).
 */
import { childPidsOf, k, masterTestEnv, waitFor } from './helpers';

const menv = masterTestEnv();
const STRAY = 'fixtures/jobs/stray.js';

describe('an unhandled promise rejection in a child (master --concurrency 2)', () => {
  it("logged by the child, which goes on: the other slot's job finishes, no DirtyExit, no respawn", async () => {
    const m = await menv.startMaster(['--queues', 'p11', '--pool', '1', '--concurrency', '2'], { jobs: [STRAY, 'fixtures/jobs/basic.js'] });
    const oneChild = async (): Promise<number[] | null> => {
      const kids = childPidsOf(m.pid);
      return (await menv.workers()).length === 2 && kids.length === 1 ? kids : null;
    };
    const child = await waitFor(oneChild, 10000, 'two registered slots of one child');
    await menv.redis.rpush(k('queue:p11'), '{"class":"Sleep","args":[1]}');
    await menv.waitForLedger(/^Sleep start 1$/, 10000);
    await menv.redis.rpush(k('queue:p11'), '{"class":"StrayReject","args":["b"]}');
    await menv.waitForLedger(/^Sleep done 1$/, 10000);
    await menv.redis.rpush(k('queue:p11'), '{"class":"Mark","args":["after"]}');
    await menv.waitForLedger(/^Mark after$/, 10000);
    await m.waitForLine(/an unhandled promise rejection .*stray rejection b/, 5000);
    expect(menv.ledgerLines()).toContain('StrayReject b');
    expect(await menv.redis.llen(k('failed'))).toBe(0);
    expect(await oneChild()).toEqual(child);
    m.kill('SIGTERM');
    expect((await m.waitForEnd(15000)).code).toBe(0);
  });
});
