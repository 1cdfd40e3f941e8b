/**
 * The PID 1 decision (src/cli/containerInit.ts): when a command becomes an init, and which way of
 * reaping it picks (the native addon, then tini, then python3), as the README documents.
 */
import { earlyInit, exitCodeOf, FORWARDED_SIGNALS, INIT_CHILD_ENV, type Pid1Mode, PYTHON_SUBREAPER, pid1Warning, planInit } from '../../src/cli/containerInit';
import { MASTER_SIGNALS, WORKER_SIGNALS } from '../../src/signals';

const command = ['/usr/bin/node', '/app/bin/pyres-ts', 'master', '--pool', '2'];
const reaper = { reapExcept: () => 0 };
const found = (have: string[]) => (n: string) => (have.includes(n) ? `/usr/bin/${n}` : null);
const plan = (mode: Pid1Mode, o: { pid?: number; env?: NodeJS.ProcessEnv; addon?: boolean; have?: string[] } = {}) =>
  planInit({
    mode,
    command,
    signals: FORWARDED_SIGNALS.master,
    pid: o.pid ?? 1,
    env: o.env ?? {},
    reaper: () => (o.addon === false ? null : reaper),
    find: found(o.have ?? ['tini', 'python3']),
  });

describe('planInit', () => {
  it("nothing to do when not PID 1, when already the init's child, or with --pid1 off", () => {
    expect(plan('auto', { pid: 4242 })).toBeNull();
    expect(plan('auto', { env: { [INIT_CHILD_ENV]: '1' } })).toBeNull();
    expect(plan('off')).toBeNull();
  });

  it('auto: the addon first (the command itself is the child), then tini -s, then python3', () => {
    expect(plan('auto')?.plan).toEqual({ kind: 'native', file: '/usr/bin/node', args: command.slice(1), signals: FORWARDED_SIGNALS.master });
    expect(plan('auto', { addon: false })?.plan).toMatchObject({ kind: 'tini', file: '/usr/bin/tini', args: ['-s', '--', ...command] });
    const py = plan('auto', { addon: false, have: ['python3'] })?.plan;
    expect(py).toMatchObject({ kind: 'python', file: '/usr/bin/python3' });
    expect(py?.args).toEqual(['-c', PYTHON_SUBREAPER, FORWARDED_SIGNALS.master.join(','), ...command]);
    expect(plan('auto', { addon: false, have: [] })).toEqual({ plan: null, missing: expect.stringMatching(/native addon is not built, no tini or python3/) });
  });

  it('a forced mode uses that way only, and says what is missing', () => {
    expect(plan('python')?.plan?.kind).toBe('python');
    expect(plan('tini', { have: ['python3'] })).toEqual({ plan: null, missing: 'tini is not on PATH' });
    expect(plan('native', { addon: false })).toEqual({ plan: null, missing: expect.stringMatching(/native addon is not built/) });
  });
});

describe("earlyInit (the bin's light path, before the CLI loads)", () => {
  it('leaves everything but `master|manager|worker|scheduler` as PID 1 with a valid --pid1 to the CLI', () => {
    expect(earlyInit(['master', '--pool', '2'], {}, 4242)).toBeNull();
    expect(earlyInit(['master'], { [INIT_CHILD_ENV]: '1' }, 1)).toBeNull();
    expect(earlyInit(['enqueue', 'q', 'C'], {}, 1)).toBeNull();
    expect(earlyInit(['--redis', 'redis://x', 'master'], {}, 1)).toBeNull();
    expect(earlyInit(['master', '--help'], {}, 1)).toBeNull();
    expect(earlyInit(['worker', '--pid1', 'bogus'], {}, 1)).toBeNull();
    expect(earlyInit(['worker', '--pid1=bogus'], {}, 1)).toBeNull();
    expect(earlyInit(['scheduler'], { PYRES_PID1: 'bogus' }, 1)).toBeNull();
  });
});

describe('the init', () => {
  it('passes on exactly the signals each command acts on', () => {
    expect([...FORWARDED_SIGNALS.master].sort()).toEqual(Object.keys(MASTER_SIGNALS).sort());
    expect([...FORWARDED_SIGNALS.worker].sort()).toEqual(Object.keys(WORKER_SIGNALS).sort());
    // A worker does not act on TTIN/TTOU, whose default action would stop it.
    expect(FORWARDED_SIGNALS.worker).not.toContain('SIGTTIN');
  });

  it('exits as a shell reports its child: the code, or 128 + the signal number', () => {
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(2, null)).toBe(2);
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
  });

  it('warns only as PID 1 without an init', () => {
    expect(pid1Warning(1, {})).toMatch(/running as PID 1/);
    expect(pid1Warning(7, {})).toBeNull();
  });
});
