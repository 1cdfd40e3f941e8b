/**
 * Test helper: runs the REAL CLI (`node bin/pyres-ts ...args`) as a child process, captures
 * its output line by line, and lets a test wait for lines, send real signals and wait for the
 * exit. Every process started here is tracked; call `killAll()` in afterEach so nothing is
 * left behind when a test fails half-way.
 *
 *   const w = spawnCli(['worker', '--queues', 'p10,p9', '--jobs', 'fixtures/jobs/basic.js'], { redisUrl });
 *   await w.waitForLine(/registered;/, 5000);
 *   w.kill('SIGQUIT');
 *   expect(await w.waitForEnd(5000)).toEqual({ code: 0, signal: null });
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** The project root (where bin/ and fixtures/ are). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** The CLI under test; PYRES_TEST_BIN may point at another build (e.g. to try a fix). */
export const BIN = process.env['PYRES_TEST_BIN'] || path.join(PROJECT_ROOT, 'bin', 'pyres-ts');

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Sets REDIS_URL for the child (it is removed from the inherited env otherwise). */
  redisUrl?: string;
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Default: the project root, so `fixtures/jobs/basic.js` resolves. */
  cwd?: string;
  /**
   * Start it as a process-group leader (pgid = its pid), as a shell does for a foreground job:
   * `process.kill(-pid, sig)` then signals the whole group, like a terminal's Ctrl-C.
   */
  detached?: boolean;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far (the worker logs here). */
  stderr(): string;
  /** Complete lines from stdout and stderr, in arrival order. */
  lines(): string[];
  /** The number of lines seen so far; pass it to waitForLine to look only at later lines. */
  mark(): number;
  /**
   * Resolves with the first line (stdout or stderr) at index >= `from` that matches `re`.
   * Rejects after timeoutMs, or when the process exits without printing one.
   */
  waitForLine(re: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves with the exit status; rejects after timeoutMs (the process is left running). */
  waitForEnd(timeoutMs?: number): Promise<ExitResult>;
  /** `process.kill(pid, sig)`; false when the process is already gone. */
  kill(sig?: NodeJS.Signals): boolean;
  /** Exited (the 'exit' event was seen)? */
  readonly exited: boolean;
  /** The exit status once exited, else null. */
  readonly exitResult: ExitResult | null;
}

const tracked = new Set<Spawned>();

/** Is a process with this pid alive (a zombie counts as alive until reaped)? */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function summary(s: Spawned): string {
  const tail = s.lines().slice(-15).join('\n');
  return `pid ${s.pid}; last output:\n${tail || '(none)'}`;
}

/** Spawns any command, tracked like the CLI (for helpers such as a `sleep 30` "live worker"). */
export function spawnTracked(command: string, args: readonly string[], opts: SpawnOptions = {}): Spawned {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['REDIS_URL'];
  if (opts.redisUrl !== undefined) env['REDIS_URL'] = opts.redisUrl;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(command, [...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env,
    detached: opts.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new Error(`could not spawn ${command} ${args.join(' ')}`);
  }
  const pid = child.pid;
  let out = '';
  let err = '';
  const partial = { stdout: '', stderr: '' };
  const lines: string[] = [];
  const lineListeners = new Set<() => void>();
  let exitResult: ExitResult | null = null;
  const exitListeners = new Set<() => void>();

  const onData = (which: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (which === 'stdout') out += text;
    else err += text;
    const parts = (partial[which] + text).split('\n');
    partial[which] = parts.pop() ?? '';
    if (parts.length) {
      lines.push(...parts);
      for (const l of [...lineListeners]) l();
    }
  };
  child.stdout?.on('data', onData('stdout'));
  child.stderr?.on('data', onData('stderr'));
  child.on('error', () => undefined);
  const flushPartials = (): void => {
    for (const which of ['stdout', 'stderr'] as const) {
      if (partial[which]) {
        lines.push(partial[which]);
        partial[which] = '';
      }
    }
  };
  child.on('exit', (code, signal) => {
    exitResult = { code, signal };
    for (const l of [...exitListeners]) l();
  });
  child.on('close', () => {
    flushPartials();
    for (const l of [...lineListeners]) l();
    for (const l of [...exitListeners]) l();
  });
  let closed = false;
  child.on('close', () => (closed = true));

  const self: Spawned = {
    child,
    pid,
    stdout: () => out,
    stderr: () => err,
    lines: () => [...lines],
    mark: () => lines.length,
    waitForLine(re: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          for (let i = from; i < lines.length; i++) {
            const l = lines[i]!;
            if (re.test(l)) {
              done();
              resolve(l);
              return true;
            }
          }
          if (closed) {
            done();
            reject(new Error(`process exited (${JSON.stringify(exitResult)}) without printing a line matching ${re}; ${summary(self)}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line matching ${re} within ${timeoutMs} ms; ${summary(self)}`));
        }, timeoutMs);
        const listener = (): void => void check();
        const done = (): void => {
          clearTimeout(timer);
          lineListeners.delete(listener);
        };
        lineListeners.add(listener);
        check();
      });
    },
    waitForEnd(timeoutMs = 5000): Promise<ExitResult> {
      return new Promise((resolve, reject) => {
        // Resolve on 'close' (all output read), or shortly after 'exit' if the pipes linger.
        let grace: NodeJS.Timeout | undefined;
        const check = (): void => {
          if (!exitResult) return;
          if (closed) {
            finish();
            resolve(exitResult);
          } else if (!grace) {
            grace = setTimeout(() => {
              finish();
              resolve(exitResult!);
            }, 500);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`process did not exit within ${timeoutMs} ms; ${summary(self)}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          if (grace) clearTimeout(grace);
          exitListeners.delete(check);
        };
        exitListeners.add(check);
        check();
      });
    },
    kill(sig: NodeJS.Signals = 'SIGTERM'): boolean {
      if (exitResult) return false;
      try {
        process.kill(pid, sig);
        return true;
      } catch {
        return false;
      }
    },
    get exited() {
      return exitResult !== null;
    },
    get exitResult() {
      return exitResult;
    },
  };
  tracked.add(self);
  child.on('close', () => {
    if (exitResult) tracked.delete(self);
  });
  return self;
}

/** `node bin/pyres-ts ...args`. */
export function spawnCli(args: readonly string[], opts: SpawnOptions = {}): Spawned {
  return spawnTracked(process.execPath, [BIN, ...args], opts);
}

/** Runs the CLI to completion; for one-shot commands (enqueue, status, usage errors). */
export async function runCli(args: readonly string[], opts: SpawnOptions = {}, timeoutMs = 10000): Promise<ExitResult & { stdout: string; stderr: string }> {
  const p = spawnCli(args, opts);
  const r = await p.waitForEnd(timeoutMs);
  return { ...r, stdout: p.stdout(), stderr: p.stderr() };
}

/**
 * For afterEach: SIGKILLs every tracked process that is still alive and waits until each has
 * exited. Resolves with the pids it had to kill (a test that cleans up itself leaves none).
 */
export async function killAll(timeoutMs = 5000): Promise<number[]> {
  const killed: number[] = [];
  const all = [...tracked];
  tracked.clear();
  await Promise.all(
    all.map(async s => {
      if (!s.exited) {
        killed.push(s.pid);
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      try {
        await s.waitForEnd(timeoutMs);
      } catch {
        /* reported below */
      }
      s.child.stdout?.destroy();
      s.child.stderr?.destroy();
    }),
  );
  const survivors = all.filter(s => isAlive(s.pid) && !s.exited);
  if (survivors.length) throw new Error(`could not kill pids ${survivors.map(s => s.pid).join(', ')}`);
  return killed;
}
