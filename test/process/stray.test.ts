/**
 * A job's promise rejected with no handler (Node's default: the process ends): a real worker logs
 * it and goes on; the job is a success by its own outcome, the next
 * jobs run in the same process.
 */
import { k, processTestEnv, waitFor } from './helpers';

const env = processTestEnv();
const STRAY = 'fixtures/jobs/stray.js';

describe('an unhandled promise rejection in job code', () => {
  it('pyres-ts worker: logged, the job succeeds, the same process works the next job', async () => {
    const { proc, id } = await env.startWorker([], 'p10', { jobs: [STRAY] });
    await env.push('p10', '{"class":"StrayReject","args":["a"]}');
    await env.push('p10', '{"class":"Mark","args":["after"]}');
    await env.waitForLedger(/^Mark after$/, 10000);
    await proc.waitForLine(/WARN .*an unhandled promise rejection .*Error: stray rejection a .*the worker goes on/, 5000);
    await waitFor(async () => (await env.redis.get(k('stat:processed'))) === '2', 5000, 'stat:processed = 2');
    expect(await env.redis.llen(k('failed'))).toBe(0);
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    expect(proc.exited).toBe(false);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('hostile reasons (a throwing toString, a throwing stack getter, a Symbol): logged as far as they can be; the worker goes on', async () => {
    const { proc, id } = await env.startWorker([], 'p10', { jobs: [STRAY] });
    await env.push('p10', '{"class":"StrayHostile","args":["h"]}');
    await env.push('p10', '{"class":"Mark","args":["after-hostile"]}');
    await env.waitForLedger(/^Mark after-hostile$/, 10000);
    // The three are reported in order: the Symbol's line comes last.
    await proc.waitForLine(/an unhandled promise rejection .*: symbol: Symbol\(sym\); the worker goes on/, 5000);
    expect(proc.lines().filter(l => /WARN .*an unhandled promise rejection .*: a object that cannot be shown; the worker goes on$/.test(l))).toHaveLength(2);
    await waitFor(async () => (await env.redis.get(k('stat:processed'))) === '2', 5000, 'stat:processed = 2');
    expect(await env.redis.sismember(k('workers'), id)).toBe(1);
    expect(proc.exited).toBe(false);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });
});
