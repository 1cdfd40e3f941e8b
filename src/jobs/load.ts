import { builtEntry } from '../builtEntry';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobLoadError, coerceError } from '../errors';
import { JobRegistry } from './registry';
import type { ConnectionOptions } from '../store/connection';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);
export const TS_LOADER_HINT = '.ts job modules need a TypeScript loader, e.g. NODE_OPTIONS="--import tsx"';

/** This loader's own files: a stack frame in them is not where a module failed. */
const OWN_FILES = new Set([__filename, join(__dirname, 'checkMain.js'), join(__dirname, 'checkMain.ts')]);

/** `/abs/file.js:3` from a stack: a CJS SyntaxError's first line, or the first frame outside Node. */
function locationIn(stack: string | undefined, syntax: boolean): string | null {
  if (!stack) return null;
  const lines = stack.split('\n');
  if (syntax) {
    // CommonJS: "/abs/bad.js:3\n<source line>\n   ^^^\n\nSyntaxError: ..."
    const m = /^((?:file:\/\/)?\/.*|[A-Za-z]:\\.*):(\d+)$/.exec(lines[0] ?? '');
    if (m) return `${m[1]!.replace(/^file:\/\//, '')}:${m[2]}`;
    return null;
  }
  for (const l of lines.slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?\s*$/.exec(l.trim());
    const file = m?.[1]?.replace(/^file:\/\//, '');
    if (m && file && !OWN_FILES.has(file)) return `${file}:${m[2]}`;
  }
  return null;
}

/** `node --check file` for a location V8 left out of an ESM SyntaxError. */
function checkSyntax(abs: string): string | null {
  try {
    const r = spawnSync(process.execPath, ['--check', abs], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status === 0 || typeof r.stderr !== 'string') return null;
    return locationIn(r.stderr, true);
  } catch {
    return null;
  }
}

function hasTsLoader(): boolean {
  const opts = [...process.execArgv, ...(process.env['NODE_OPTIONS'] ?? '').split(/\s+/)];
  return opts.some(o => /^--(import|loader|experimental-loader|require)\b|^-r$/.test(o)) || process.execArgv.some(o => o.includes('strip-types'));
}

/** The one-line reason a job module failed to load: file and line of a SyntaxError, a hint for .ts. */
export function describeLoadError(e: unknown, abs: string): string {
  const err = coerceError(e);
  const code = (err as NodeJS.ErrnoException).code;
  const isTs = TS_EXTENSIONS.has(extname(abs).toLowerCase());
  if (isTs && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || (err.name === 'SyntaxError' && !hasTsLoader()))) return TS_LOADER_HINT;
  const message = err.message.split('\n')[0] ?? '';
  if (err.name === 'SyntaxError') {
    const at = locationIn(err.stack, true) ?? checkSyntax(abs);
    return `SyntaxError${at ? ` at ${at}` : ''}: ${message}`;
  }
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return `failed to load: ${message}`;
  const at = locationIn(err.stack, false);
  return `failed to load: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${message}${at ? ` (at ${at})` : ''}`;
}

/**
 * Loads job modules named by the operator (`--jobs`), CommonJS or ESM (.js, .cjs, .mjs), and
 * registers their exports by export name. Only these operator-given paths are ever imported.
 */
export async function loadJobModules(
  paths: readonly string[],
  registry = new JobRegistry(),
  cwd = process.cwd(),
  /** Told the plain functions a module exports, which are not jobs (see JobRegistry.registerModule). */
  onSkip?: (path: string, names: string[]) => void,
): Promise<JobRegistry> {
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs)) throw new JobLoadError(`--jobs ${p}: no such file (${abs})`);
    let ns: Record<string, unknown>;
    try {
      ns = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (e) {
      throw new JobLoadError(`--jobs ${p}: ${describeLoadError(e, abs)}`);
    }
    const skipped: string[] = [];
    const names = registry.registerModule(ns, basename(abs, extname(abs)), n => skipped.push(n));
    if (skipped.length) onSkip?.(p, skipped);
    if (names.length === 0) {
      throw new JobLoadError(
        `--jobs ${p}: exports no job (export defineJob(...), or an object or class with perform(...args))` +
          (skipped.length ? `; plain functions are not jobs unless declared: ${skipped.map(n => `${n} = defineJob(${n})`).join(', ')}` : ''),
      );
    }
  }
  return registry;
}

/** Imports a --worker-init module without calling it; a failure becomes a JobLoadError naming it. */
export async function importInitModule(path: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const abs = resolve(cwd, path);
  if (!existsSync(abs)) throw new JobLoadError(`--worker-init ${path}: no such file (${abs})`);
  try {
    return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new JobLoadError(`--worker-init ${path}: ${describeLoadError(e, abs)}`);
  }
}

/** The function a --worker-init module offers: its default export, `init`, or `default.init`. */
export function initFunctionOf(mod: Record<string, unknown>): (() => unknown) | null {
  const found = [mod['default'], mod['init'], (mod['default'] as Record<string, unknown> | undefined)?.['init']].find(f => typeof f === 'function');
  return (found as (() => unknown) | undefined) ?? null;
}

/** The check entry: dist/jobs/checkMain.js (also under ts-jest, where this file is src/jobs/load.ts). */
export function checkEntry(): string {
  return builtEntry('jobs/checkMain.js');
}

export const VERIFY_TIMEOUT_MS = 60_000;

/** Node flags that take a value as the next argument (when not given as --flag=value). */
const VALUE_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);

/**
 * The calling process's Node flags that change how modules load (loaders such as tsx,
 * conditions, experimental features), and nothing else: never -e/-p (the check would run the
 * caller's script), --inspect, --test or --watch.
 */
export function loaderExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const name = a.split('=')[0]!;
    if (VALUE_FLAGS.has(name)) {
      if (a.includes('=')) out.push(a);
      else if (i + 1 < execArgv.length) out.push(a, execArgv[++i]!);
    } else if (/^--(no-)?experimental-|^--enable-source-maps$|^--no-warnings$|^--no-deprecation$|^--stack-size=|^--max-old-space-size=/.test(a)) {
      out.push(a);
    } else if (/^(-e|--eval|-p|--print|--input-type|--env-file)$/.test(a)) {
      i++; // and its value
    }
  }
  return out;
}

/** What checkMain writes to fd 3. */
export type CheckResult =
  | {
      ok: true;
      jobs: string[];
      /** The jobs with onFailure hooks (the master runs them for a killed child's job: runFailureHooksInCheck). */
      failureHooks?: string[];
      /** With a `failure` request: how many onFailure hooks ran, and the error to record instead when one threw. */
      hooksRan?: number;
      recordAs?: { exception: string; error: string } | null;
      /** With a `failure` request: a retry policy retried the job under suppressFailures (no `failed` record). */
      suppressed?: boolean;
    }
  | { ok: false; message: string };

/** A dead child's failed job, for its onFailure hooks in a check process. */
export interface FailureRequest {
  /** The payload as held in worker:<id>. */
  raw: string;
  exception: string;
  error: string;
  /** The job's queue and dead worker, for the hooks' job context (resque-retry re-enqueues there). */
  queue?: string;
  workerId?: string;
  /** The Redis the worker worked on; handed to the check in its environment (FAILURE_REDIS_ENV), never on its command line. */
  redis?: { connection: ConnectionOptions; namespace: string };
}

/** The check process's environment variable with a failure request's Redis (JSON). */
export const FAILURE_REDIS_ENV = 'PYRES_CHECK_FAILURE_REDIS';

/**
 * Checks that the job modules and the --worker-init module load, in a short-lived subprocess:
 * no job code (top-level code included) runs in the calling process. Throws JobLoadError with
 * the reason (file and line of a syntax error).
 */
/** Set in the check's environment: a Master must not start there (an app preloaded with -r/--import). */
export const MODULE_CHECK_ENV = 'PYRES_MODULE_CHECK';

export async function verifyModules(
  paths: string[],
  workerInit: string | null,
  cwd = process.cwd(),
  timeoutMs = VERIFY_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<void> {
  await runCheck(paths, workerInit, cwd, timeoutMs, signal);
}

/** The module check was stopped (the master's start was aborted). */
export function checkStoppedError(): JobLoadError {
  return new JobLoadError('the module check was stopped');
}

/** The module check ran past `timeoutMs` and was killed. */
export function checkTimedOutError(timeoutMs: number): JobLoadError {
  return new JobLoadError(
    `checking the job modules took over ${Math.round(timeoutMs / 1000)} s (does a module's top-level code wait on something?); killed the check`,
  );
}

/**
 * Whether `className` (a payload's class) is one of `names` (the jobs with onFailure hooks a
 * check reported), by its full name or its last segment (`Ns::Job`, `ns.Job` and `Job` alike).
 */
export function hasFailureHooks(names: Iterable<string>, className: string): boolean {
  const last = (n: string): string => n.split(/::|\./).pop() ?? n;
  const mine = last(className);
  for (const n of names) if (n === className || last(n) === mine) return true;
  return false;
}

/** What a check found: the job names, and those with onFailure hooks. */
export function checkSummary(registry: JobRegistry): { jobs: string[]; failureHooks: string[] } {
  const jobs = registry.names();
  return { jobs, failureHooks: jobs.filter(n => registry.hooksFor(n).onFailure.length > 0) };
}

/** verifyModules, with what the check reported; with `failure`, that job's onFailure hooks run in the check process. */
export async function runCheck(
  paths: string[],
  workerInit: string | null,
  cwd = process.cwd(),
  timeoutMs = VERIFY_TIMEOUT_MS,
  signal?: AbortSignal,
  failure?: FailureRequest,
): Promise<Extract<CheckResult, { ok: true }>> {
  const entry = checkEntry();
  if (!existsSync(entry)) throw new JobLoadError(`cannot check the job modules: ${entry} is missing (run npm run build)`);
  const { redis: failureRedis, ...failureArg } = failure ?? { redis: undefined };
  const request = JSON.stringify({ jobs: paths, workerInit, cwd, ...(failure ? { failure: failureArg } : {}) });
  const result = await new Promise<{ result: CheckResult | null; code: number | null; signal: NodeJS.Signals | null; stderr: string; timedOut: boolean }>(
    done => {
      const child = spawn(process.execPath, [...loaderExecArgv(), entry, request], {
        cwd,
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
        env: { ...process.env, [MODULE_CHECK_ENV]: '1', ...(failureRedis ? { [FAILURE_REDIS_ENV]: JSON.stringify(failureRedis) } : {}) },
      });
      let settled = false;
      const finish = (code: number | null, sig: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        let parsed: CheckResult | null = null;
        try {
          parsed = out.trim() ? (JSON.parse(out) as CheckResult) : null;
        } catch {
          parsed = null;
        }
        // A helper the module started may hold the pipes: do not wait for them.
        child.stderr?.destroy();
        (child.stdio[3] as (NodeJS.ReadableStream & { destroy?: () => void }) | null)?.destroy?.();
        done({ result: parsed, code, signal: sig, stderr: err, timedOut });
      };
      const onAbort = (): void => {
        child.kill('SIGKILL');
        finish(null, 'SIGKILL');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let out = '';
      let err = '';
      let timedOut = false;
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
      const fd3 = child.stdio[3] as NodeJS.ReadableStream | null;
      fd3?.setEncoding('utf8');
      fd3?.on('data', (d: string) => (out += d));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
        finish(null, 'SIGKILL');
      }, timeoutMs);
      child.on('error', e => {
        clearTimeout(timer);
        done({ result: { ok: false, message: `cannot start the module check: ${e.message}` }, code: null, signal: null, stderr: err, timedOut });
      });
      // Settled on exit (fd 3 is read to its end first, briefly), not on 'close'.
      child.on('exit', (code, sig) => {
        if (fd3 && !(fd3 as NodeJS.ReadableStream & { readableEnded?: boolean }).readableEnded) {
          const t = setTimeout(() => finish(code, sig), 200);
          fd3.once('end', () => (clearTimeout(t), finish(code, sig)));
        } else finish(code, sig);
      });
    },
  );
  if (signal?.aborted) throw checkStoppedError();
  if (result.timedOut) throw checkTimedOutError(timeoutMs);
  if (result.result?.ok) return result.result;
  if (result.result) throw new JobLoadError(result.result.message);
  const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
  throw new JobLoadError(
    `checking the job modules failed: the check process ${result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`} before it reported` +
      ` (does a module call process.exit?)${tail ? `: ${tail}` : ''}`,
  );
}

/**
 * Runs a failed job's onFailure hooks in a short-lived check process that loads the job
 * modules (a master loads none itself): how a master runs them for the job of a child that was
 * killed, before it writes the DirtyExit record. Resolves with the error to record instead
 * (Resque's RuntimeError when a hook threw), or null; never rejects (a failure is logged by the
 * caller from the message).
 */
export async function runFailureHooksInCheck(
  paths: string[],
  failure: FailureRequest,
  cwd = process.cwd(),
  timeoutMs = 10_000,
): Promise<{ ran: number; recordAs: { exception: string; error: string } | null; suppressed: boolean } | { problem: string }> {
  try {
    const r = await runCheck(paths, null, cwd, timeoutMs, undefined, failure);
    return { ran: r.hooksRan ?? 0, recordAs: r.recordAs ?? null, suppressed: r.suppressed === true };
  } catch (e) {
    return { problem: coerceError(e).message };
  }
}
