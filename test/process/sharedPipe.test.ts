/**
 * A master and its children share one stderr (the --daemon log keeper's pipe, a container's
 * log pipe, journald's stream): under load its reader falls behind, and a line must never be
 * torn by another process's line (src/logging/pipeLines.ts). Two real processes log 20,000
 * lines each through the logger into one pipe that is read slowly (test/support/sharedPipe.js).
 */
import { spawnTracked } from '../support/spawn';

describe('log lines in a pipe shared by processes', () => {
  it.each(['text', 'json'])('--log-format %s: every line whole, each once, while the pipe is full', async format => {
    const p = spawnTracked(process.execPath, ['test/support/sharedPipe.js', format]);
    expect(await p.waitForEnd(60000)).toEqual({ code: 0, signal: null });
    const r = JSON.parse(p.stdout().trim()) as { good: number; bad: number; each: Record<string, number>; distinct: number; examples: string[]; code: number };
    expect(r.examples).toEqual([]);
    expect(r).toMatchObject({ good: 40000, bad: 0, each: { A: 20000, B: 20000 }, distinct: 40000, code: 0 });
  });
});
