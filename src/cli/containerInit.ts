/**
 * PID 1 in a container. The kernel re-parents every orphan to PID 1, and only a waitpid(2) by
 * PID 1 removes an orphan's zombie once it exits. Node can wait only for the children it
 * spawned itself (libuv's waitpid is per pid; there is no waitpid(-1)), and it cannot exec, so
 * a `pyres-ts master` (or `worker`, `scheduler`) that finds itself PID 1 becomes a tiny init:
 *
 *   PID 1  pyres-ts (this file)   forwards the signals, reaps orphans, exits as the command does
 *     └─ pyres-ts master ...      the real command: same argv, PYRES_INIT_CHILD=1 in its env
 *
 * How orphans are reaped, in this order (`--pid1 auto`, the default; `--pid1 MODE` forces one):
 *  - `native`: the addon in native/ (`reapExcept(pid)`, built at install time by
 *    native/install.js) reaps every exited child except the real command, whose status libuv
 *    must still see; called on every SIGCHLD.
 *  - `tini`: `tini -s` (subreaper) between PID 1 and the command; the orphans go to tini.
 *  - `python`: a few lines of python3 as the subreaper (prctl PR_SET_CHILD_SUBREAPER, waitpid).
 *  - none of them (or `--pid1 off`): the command runs as PID 1 itself and warns that orphans
 *    stay zombies (run it under an init then: tini, docker run --init).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import { constants } from 'node:os';
import { writeStdio } from '../logging/stdio';
import { MASTER_SIGNALS, WORKER_SIGNALS } from '../signals';

export const PID1_MODES = ['auto', 'native', 'tini', 'python', 'off'] as const;
export type Pid1Mode = (typeof PID1_MODES)[number];

/** Set in the real command's environment so that it does not become an init again. */
export const INIT_CHILD_ENV = 'PYRES_INIT_CHILD';

/**
 * The signals each command acts on (src/signals.ts, cli/schedulerCommand.ts); the init passes
 * exactly these on. Any other signal sent to PID 1 is ignored, as the kernel does for a PID 1
 * without a handler (SIGKILL and SIGSTOP cannot be caught: a SIGKILL of PID 1 ends the whole
 * PID namespace).
 */
export const FORWARDED_SIGNALS: Readonly<Record<'master' | 'worker' | 'scheduler', readonly NodeJS.Signals[]>> = {
  master: Object.keys(MASTER_SIGNALS) as NodeJS.Signals[],
  worker: Object.keys(WORKER_SIGNALS) as NodeJS.Signals[],
  scheduler: ['SIGTERM', 'SIGINT', 'SIGQUIT'],
};

/** The addon's surface (native/reap.c). */
export interface Reaper {
  /** Reaps every exited child except `keep`; returns how many it reaped. */
  reapExcept(keep: number): number;
}

/** The addon built by native/install.js, or null (not built, not Linux, wrong ABI). */
export function loadReaper(): Reaper | null {
  const file = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'pyres_reap.node');
  try {
    const r = require(file) as Partial<Reaper>;
    return typeof r.reapExcept === 'function' ? (r as Reaper) : null;
  } catch {
    return null;
  }
}

/** The first executable `name` on PATH, or null. */
export function which(name: string, envPath: string = process.env['PATH'] ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      if (fs.statSync(f).isFile()) return f;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * The subreaper in python3 (the fallback without the addon and without tini): registers as a
 * child subreaper, runs the command, passes the init's signals on, reaps every child and exits
 * with the command's status (128 + signal when a signal ended it).
 */
export const PYTHON_SUBREAPER = `
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:
    sys.stderr.write("pyres-ts: prctl(PR_SET_CHILD_SUBREAPER) failed (errno %d)\\n" % ctypes.get_errno())
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
def forward(sig, _frame):
    try:
        os.kill(pid, sig)
    except OSError:
        pass
for name in sys.argv[1].split(","):
    signal.signal(getattr(signal, name), forward)
while True:
    try:
        p, st = os.waitpid(-1, 0)
    except ChildProcessError:
        sys.exit(1)
    if p == pid:
        sys.exit(128 + os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st))
`;

/** How the init runs the command: `native` spawns it directly, the others through a subreaper. */
export interface InitPlan {
  kind: 'native' | 'tini' | 'python';
  file: string;
  args: string[];
  /** The signals passed on to the command. */
  signals: readonly NodeJS.Signals[];
}

export interface PlanInput {
  mode: Pid1Mode;
  /** The command to run (the node binary, its exec args, the bin script, the CLI argv). */
  command: readonly string[];
  /** The signals the command acts on (FORWARDED_SIGNALS). */
  signals: readonly NodeJS.Signals[];
  pid?: number;
  env?: NodeJS.ProcessEnv;
  reaper?: () => Reaper | null;
  find?: (name: string) => string | null;
}

/**
 * What a `pyres-ts` process should do about being PID 1: null when it is not PID 1, is already
 * the init's child, or `--pid1 off`; `{ plan: null, missing }` when the forced (or every) way
 * is missing; else the plan.
 */
export function planInit(i: PlanInput): { plan: InitPlan | null; missing?: string } | null {
  const env = i.env ?? process.env;
  if ((i.pid ?? process.pid) !== 1 || env[INIT_CHILD_ENV] === '1' || i.mode === 'off') return null;
  const find = i.find ?? (n => which(n, env['PATH'] ?? ''));
  const [file, ...rest] = i.command;
  const want = (k: InitPlan['kind']): boolean => i.mode === 'auto' || i.mode === k;
  if (want('native') && (i.reaper ?? loadReaper)()) return { plan: { kind: 'native', file: file!, args: rest, signals: i.signals } };
  if (want('tini')) {
    const tini = find('tini');
    if (tini) return { plan: { kind: 'tini', file: tini, args: ['-s', '--', ...i.command], signals: i.signals } };
  }
  if (want('python')) {
    const py = find('python3');
    if (py) return { plan: { kind: 'python', file: py, args: ['-c', PYTHON_SUBREAPER, i.signals.join(','), ...i.command], signals: i.signals } };
  }
  const missing =
    i.mode === 'auto'
      ? 'no way to reap orphans was found (the native addon is not built, no tini or python3 on PATH)'
      : i.mode === 'native'
        ? 'the native addon is not built (native/build/Release/pyres_reap.node; see native/install.js)'
        : `${i.mode === 'tini' ? 'tini' : 'python3'} is not on PATH`;
  return { plan: null, missing };
}

/** The warning for a command that is PID 1 and not under an init, or null when it is not PID 1. */
export function pid1Warning(pid: number = process.pid, env: NodeJS.ProcessEnv = process.env): string | null {
  if (pid !== 1 || env[INIT_CHILD_ENV] === '1') return null;
  return (
    'running as PID 1: orphaned grandchildren of jobs are re-parented here and Node cannot reap them (they stay zombies); ' +
    'build the native addon (npm rebuild pyres-ts), put tini or python3 on PATH (--pid1 auto), or run under an init: tini as the entrypoint, docker run --init'
  );
}

/** The exit code of a process that ended with `code` or by `signal` (a shell's 128 + n). */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

/**
 * Runs `plan` as this process's only child and acts as its init until it exits: every signal in
 * `plan.signals` is passed on, every other child that exits is reaped (the native plan), and
 * the returned promise resolves with the command's exit code (128 + n for a signal).
 */
export function runInit(plan: InitPlan, opts: { reaper?: Reaper | null; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const reaper = plan.kind === 'native' ? (opts.reaper ?? loadReaper()) : null;
  // Its own session and process group: a signal to the init's group (a terminal's Ctrl-C, a
  // `kill -TERM -PGID`) reaches the command once, through the init, not twice.
  const child: ChildProcess = spawn(plan.file, plan.args, {
    stdio: 'inherit',
    detached: true,
    env: { ...(opts.env ?? process.env), [INIT_CHILD_ENV]: '1' },
  });
  const handlers = new Map<NodeJS.Signals, () => void>();
  const reap = (): void => {
    if (reaper && child.pid !== undefined) reaper.reapExcept(child.pid);
  };
  for (const sig of plan.signals) {
    const h = (): void => {
      // tini leaves SIGTTIN/SIGTTOU to their default action (it would stop): they go to its child,
      // or nowhere while it has none.
      const target = plan.kind === 'tini' && (sig === 'SIGTTIN' || sig === 'SIGTTOU') ? childrenOf(child.pid) : child.pid;
      try {
        if (target !== undefined) process.kill(target, sig);
      } catch {
        /* already gone: its exit is on the way */
      }
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  if (reaper) process.on('SIGCHLD', reap);
  // A SIGCHLD that arrives while libuv is busy is coalesced with the next one; this sweep makes
  // sure nothing waits longer than a second for it.
  const sweep = reaper ? setInterval(reap, 1000) : null;
  sweep?.unref();
  return new Promise(resolve => {
    const done = (code: number): void => {
      for (const [sig, h] of handlers) process.removeListener(sig, h);
      if (reaper) process.removeListener('SIGCHLD', reap);
      if (sweep) clearInterval(sweep);
      resolve(code);
    };
    child.once('error', e => {
      writeStdio('stderr', `pyres-ts: PID 1: could not start ${plan.file}: ${e.message}\n`);
      done(127);
    });
    child.once('exit', (code, signal) => {
      reap();
      done(exitCodeOf(code, signal));
    });
  });
}

/** The first child of `pid` (tini's child: the command), from /proc; undefined if none. */
function childrenOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const first = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The CLI's entry for `master`, `worker` and `scheduler`: as PID 1 (and not already the init's
 * child) runs the same command under the init and resolves with its exit code; otherwise (or
 * when no way to reap is available) resolves null and the command runs here as usual.
 */
export async function initIfPid1(command: keyof typeof FORWARDED_SIGNALS, mode: Pid1Mode, argv: readonly string[]): Promise<number | null> {
  // Decided once per process: the bin's early path and the CLI's handler do not both say so.
  if (decided) return null;
  decided = true;
  const p = planInit({ mode, signals: FORWARDED_SIGNALS[command], command: [process.execPath, ...process.execArgv, process.argv[1]!, ...argv] });
  if (!p) return null;
  if (!p.plan) {
    writeStdio('stderr', `pyres-ts: PID 1 (--pid1 ${mode}): ${p.missing}; running without an init\n`);
    return null;
  }
  writeStdio('stderr', `pyres-ts: PID 1: reaping orphans (${p.plan.kind}), running the command as a child\n`);
  process.title = `pyres-ts init (PID 1, ${p.plan.kind}): ${command}`;
  return runInit(p.plan);
}

/** `--pid1 MODE` (also PYRES_PID1) for the commands that can be a container's PID 1. */
export function withPid1Option<T>(y: Argv<T>) {
  return y.option('pid1', {
    choices: PID1_MODES,
    default: 'auto' as Pid1Mode,
    describe: 'as PID 1 (a container without an init): reap orphans with the native addon, else tini -s, else python3 (auto), one of them, or off',
  });
}

let decided = false;

const INIT_COMMANDS: Readonly<Record<string, keyof typeof FORWARDED_SIGNALS>> = {
  master: 'master',
  manager: 'master',
  worker: 'worker',
  scheduler: 'scheduler',
};

/**
 * The bin's light path as PID 1 (before the CLI and its modules are loaded, so that the init
 * stays a bare Node process): `pyres-ts master|manager|worker|scheduler ...` with `--pid1 MODE`
 * (or PYRES_PID1, default auto) read from argv. Resolves with the command's exit code (null
 * when no way to reap was found: the CLI runs here and warns), or returns null for anything else (not PID 1, another command, options before the command,
 * --help, a mode that is not one of PID1_MODES): the CLI then runs and decides with its parsed
 * options (main.ts calls initIfPid1 again).
 */
export function earlyInit(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): Promise<number | null> | null {
  if (pid !== 1 || env[INIT_CHILD_ENV] === '1') return null;
  const command = INIT_COMMANDS[argv[0] ?? ''];
  if (!command || argv.some(a => a === '--help' || a === '-h' || a === '--version')) return null;
  let mode: string = env['PYRES_PID1'] ?? 'auto';
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--pid1') mode = argv[i + 1] ?? '';
    else if (a.startsWith('--pid1=')) mode = a.slice('--pid1='.length);
  }
  if (!(PID1_MODES as readonly string[]).includes(mode)) return null;
  return initIfPid1(command, mode as Pid1Mode, argv);
}
