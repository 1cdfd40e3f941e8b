/**
 * Resque's job hooks (Resque 3.0 docs/HOOKS.md; docs/protocol/PROTOCOL-plugins.md §4; capture
 * fixtures/plugins/h1-job-hooks) and the worker hooks, for pyres-ts jobs. See docs/HOOKS.md.
 *
 * A job's hooks are its properties whose names start with a hook kind (`beforePerform`,
 * `beforePerformAudit`, ...), run in the sorted order of those names, as Resque sorts its hook
 * methods (`before_perform`, `before_perform_a`, `before_perform_b`). A property may hold one
 * function, an array (run in array order) or a record of functions (run in key order).
 */
import { ConfigError, PyresError } from '../errors';

const DONT_PERFORM_MARK: unique symbol = Symbol.for('pyres-ts.dontPerform') as never;

/**
 * Thrown by a `beforePerform` hook: the job is skipped (no perform, no after hooks, no failure)
 * and still counted in `stat:processed`, as Resque's `Resque::Job::DontPerform`.
 */
export class DontPerform extends PyresError {
  constructor(message = 'DontPerform') {
    super(message);
  }
  /** Marks it for isDontPerform across two copies of pyres-ts in one process. */
  readonly [DONT_PERFORM_MARK] = true;
}

/** True for a DontPerform (also one from another copy of pyres-ts). */
export function isDontPerform(e: unknown): boolean {
  return e instanceof DontPerform || (typeof e === 'object' && e !== null && (e as { [DONT_PERFORM_MARK]?: unknown })[DONT_PERFORM_MARK] === true);
}

/** A hook function as stored (typed by the job's args where it is declared). */
// biome-ignore lint/suspicious/noExplicitAny: a hook's own parameter types are checked where it is declared
export type HookFn = (...a: any[]) => unknown;

/** One hook, a list of hooks (run in order), or named hooks (run in the sorted order of their names). */
export type HookSet<F> = F | readonly F[] | Readonly<Record<string, F>>;

/** `beforeEnqueue(...args)`: returning `false` (or a promise of it) cancels the enqueue; nothing is written. */
export type BeforeEnqueueHook<Args extends unknown[]> = (...args: Args) => unknown;
/** A hook that gets the job's args (afterEnqueue, before/afterDequeue, before/afterPerform). */
export type ArgsHook<Args extends unknown[]> = (...args: Args) => unknown;
/** `aroundPerform(next, ...args)`: call `next()` (and await it) to go on to the next around hook and perform; not calling it skips perform. */
export type AroundHook<Args extends unknown[]> = (next: () => Promise<unknown>, ...args: Args) => unknown;
/** `onFailure(error, ...args)`: runs once per failure, before the failure record is written. */
export type FailureHook<Args extends unknown[]> = (error: Error, ...args: Args) => unknown;

/** The hook kinds, in the names a job's properties start with. */
export const JOB_HOOK_KINDS = [
  'beforeEnqueue',
  'afterEnqueue',
  'beforeDequeue',
  'afterDequeue',
  'beforePerform',
  'aroundPerform',
  'afterPerform',
  'onFailure',
] as const;

/** One of JOB_HOOK_KINDS. */
export type JobHookKind = (typeof JOB_HOOK_KINDS)[number];

/**
 * The hook properties `defineJob` accepts, typed by the job's args: the bare name
 * (`beforePerform`) and any name that starts with it (`beforePerformAudit`).
 */
export type JobHookFields<Args extends unknown[]> = {
  [k: `beforeEnqueue${string}`]: HookSet<NoInfer<BeforeEnqueueHook<Args>>> | undefined;
  [k: `afterEnqueue${string}`]: HookSet<NoInfer<ArgsHook<Args>>> | undefined;
  [k: `beforeDequeue${string}`]: HookSet<NoInfer<BeforeEnqueueHook<Args>>> | undefined;
  [k: `afterDequeue${string}`]: HookSet<NoInfer<ArgsHook<Args>>> | undefined;
  [k: `beforePerform${string}`]: HookSet<NoInfer<ArgsHook<Args>>> | undefined;
  [k: `aroundPerform${string}`]: HookSet<NoInfer<AroundHook<Args>>> | undefined;
  [k: `afterPerform${string}`]: HookSet<NoInfer<ArgsHook<Args>>> | undefined;
  [k: `onFailure${string}`]: HookSet<NoInfer<FailureHook<Args>>> | undefined;
};

/** A job's hooks, collected and ordered: each kind's functions in the order they run. */
export type JobHooks = { readonly [K in JobHookKind]: ReadonlyArray<HookFn> };

/** No hooks at all (a job without any). */
export const NO_HOOKS: JobHooks = Object.freeze(Object.fromEntries(JOB_HOOK_KINDS.map(k => [k, Object.freeze([])])) as unknown as JobHooks);

/** The name of the hook kind a property name belongs to, or null. */
export function hookKindOf(name: string): JobHookKind | null {
  for (const k of JOB_HOOK_KINDS) if (name.startsWith(k)) return k;
  return null;
}

function flatten(where: string, v: unknown): Array<HookFn> {
  if (typeof v === 'function') return [v as HookFn];
  if (Array.isArray(v)) return v.flatMap((f, i) => flatten(`${where}[${i}]`, f));
  if (v && typeof v === 'object') {
    return Object.keys(v)
      .sort()
      .flatMap(k => flatten(`${where}.${k}`, (v as Record<string, unknown>)[k]));
  }
  throw new ConfigError(`hook ${where} must be a function, an array of functions or a record of functions, got ${typeof v}`);
}

/** The own property names of an object, or a class's static ones (methods included). */
function propertyNames(def: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = def; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const n of Object.getOwnPropertyNames(o)) names.add(n);
  }
  return [...names];
}

/**
 * Collects a job's hooks: every property (own or inherited; a class's static members) whose
 * name starts with a hook kind, sorted by name within each kind. Throws ConfigError for a hook
 * property that is not a function, an array or a record of functions.
 */
export function collectJobHooks(def: unknown): JobHooks {
  if (def === null || (typeof def !== 'object' && typeof def !== 'function')) return NO_HOOKS;
  const found = new Map<JobHookKind, string[]>();
  for (const name of propertyNames(def as object)) {
    const kind = hookKindOf(name);
    if (!kind) continue;
    const v = (def as Record<string, unknown>)[name];
    if (v === undefined) continue;
    found.set(kind, [...(found.get(kind) ?? []), name]);
  }
  if (found.size === 0) return NO_HOOKS;
  const out = {} as Record<JobHookKind, ReadonlyArray<HookFn>>;
  for (const k of JOB_HOOK_KINDS) {
    const names = (found.get(k) ?? []).sort();
    out[k] = Object.freeze(
      names.flatMap(n => {
        const v = (def as Record<string, unknown>)[n];
        // A method keeps its `this` (a class's static hooks, an object's hooks).
        return flatten(n, v).map(f => (f === v ? (f.bind(def) as HookFn) : f));
      }),
    );
  }
  return Object.freeze(out) as JobHooks;
}

/** True when the job has at least one hook of a kind that runs around perform. */
export function hasPerformHooks(h: JobHooks): boolean {
  return h.beforePerform.length + h.aroundPerform.length + h.afterPerform.length + h.onFailure.length > 0;
}

/** How a perform chain ended without an error: performed, skipped by DontPerform, or not performed (an around hook did not call next). */
export type PerformOutcome = { performed: boolean; skipped: boolean; result: unknown };

/**
 * Runs a job as Resque's `Job#perform` does: the beforePerform hooks (a DontPerform stops
 * here: `skipped`), the aroundPerform hooks nested in order (the first wraps the second ...
 * wraps perform), then the afterPerform hooks (also when an around hook did not call next, as
 * Resque). Any other error propagates: the job failed (the caller runs the onFailure hooks).
 */
export async function runPerformChain(hooks: JobHooks, args: unknown[], perform: () => Promise<unknown>): Promise<PerformOutcome> {
  try {
    for (const h of hooks.beforePerform) await h(...args);
  } catch (e) {
    if (isDontPerform(e)) return { performed: false, skipped: true, result: undefined };
    throw e;
  }
  let performed = false;
  let result: unknown;
  const around = hooks.aroundPerform;
  const step = async (i: number): Promise<unknown> => {
    if (i >= around.length) {
      result = await perform();
      performed = true;
      return result;
    }
    let called: Promise<unknown> | null = null;
    // Whether the hook awaited (or otherwise handled) what next() gave it: an around hook that
    // catches the inner failure and returns has rescued it, as Ruby's `rescue` around `yield`
    // (Pyres-mode retries rely on it); one that never looked at it gets it propagated.
    let observed = false;
    const next = (): Promise<unknown> => {
      if (!called) {
        called = step(i + 1);
        called.catch(() => undefined); // no unhandled rejection while the hook holds it
      }
      const p: Promise<unknown> = called;
      // A thenable, not a native promise: `await` on a native one would not call its `then`.
      return {
        // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose (see above)
        then: (a, b) => ((observed = true), p.then(a, b)),
        catch: b => ((observed = true), p.catch(b)),
        finally: f => ((observed = true), p.finally(f)),
        [Symbol.toStringTag]: 'Promise',
      } as Promise<unknown>;
    };
    await around[i]!(next, ...args);
    if (!called) return undefined;
    if (observed) return (called as Promise<unknown>).catch(() => undefined);
    return await called;
  };
  await step(0);
  for (const h of hooks.afterPerform) await h(...args);
  return { performed, skipped: false, result };
}

/**
 * Runs the onFailure hooks once, as Resque's `run_failure_hooks`: in order, each with the
 * error and the args. A hook that throws stops the rest, and the failure is then recorded as
 * Resque records it: a `RuntimeError` "Additional error (...) occurred in running failure hooks
 * for job ...". Returns the error to record (the original one when every hook returned).
 */
export async function runFailureHooks(hooks: JobHooks, error: Error, args: unknown[], jobName: string): Promise<Error> {
  try {
    for (const h of hooks.onFailure) await h(error, ...args);
    return error;
  } catch (e) {
    const hookErr = e instanceof Error ? e : new Error(String(e));
    const err = new Error(
      `Additional error (${hookErr.name}: ${hookErr.message}) occurred in running failure hooks for job ${jobName}\n` +
        `Original error that caused job failure was ${hookErr.name}: ${error.name}: ${error.message}`,
    );
    err.name = 'RuntimeError';
    return err;
  }
}

/**
 * The enqueue-side hooks: runs `before` hooks in order; any one returning `false` stops
 * (returns false: do not push). Errors propagate to the caller.
 */
export async function runBeforeHooks(list: ReadonlyArray<HookFn>, args: unknown[]): Promise<boolean> {
  for (const h of list) if ((await h(...args)) === false) return false;
  return true;
}

/** Runs `after` hooks in order (errors propagate to the caller, as Resque's after_enqueue). */
export async function runAfterHooks(list: ReadonlyArray<HookFn>, args: unknown[]): Promise<void> {
  for (const h of list) await h(...args);
}

// ---------------------------------------------------------------------------------------------
// Worker hooks

/** The mark `defineWorkerHooks` puts on its result (Symbol.for: two copies of pyres-ts agree). */
export const WORKER_HOOKS_MARK: unique symbol = Symbol.for('pyres-ts.workerHooks') as never;

/** What a worker hook is told: the worker's id (a pool's slot 0 id for a pool). */
export interface WorkerHookInfo {
  readonly workerId: string;
}

/**
 * Worker hooks (Resque's `Resque.before_first_fork`, `queue_empty`, `shutdown`, `worker_exit`).
 * Each may be a function, an array or a record of functions. A hook's error is logged, never
 * fatal.
 */
export interface WorkerHookSpec {
  /** Once, before the worker (or pool) runs its first job. */
  beforeFirstJob?: HookSet<(w: WorkerHookInfo) => unknown>;
  /** Each time the worker turns idle because every queue is empty (not on every empty poll). */
  queueEmpty?: HookSet<(w: WorkerHookInfo) => unknown>;
  /** When a stop is asked (QUIT, TERM, INT, a master's stop): before the running jobs end. */
  shutdown?: HookSet<(w: WorkerHookInfo) => unknown>;
  /** Last, after the worker (every slot of a pool) unregistered. */
  workerExit?: HookSet<(w: WorkerHookInfo) => unknown>;
}

/** The worker hook kinds. */
export const WORKER_HOOK_KINDS = ['beforeFirstJob', 'queueEmpty', 'shutdown', 'workerExit'] as const;

/** Worker hooks as a job module exports them (made by defineWorkerHooks). */
export type WorkerHooks = Readonly<WorkerHookSpec> & { readonly [WORKER_HOOKS_MARK]: true };

/** Collected worker hooks, each kind in run order. */
export type WorkerHookLists = { readonly [K in (typeof WORKER_HOOK_KINDS)[number]]: ReadonlyArray<(w: WorkerHookInfo) => unknown> };

/**
 * Declares worker hooks; export the result from a job module (any export name), and every
 * worker that loads the module runs them:
 *
 * ```ts
 * export const hooks = defineWorkerHooks({ queueEmpty: () => console.log('idle'), workerExit: () => db.close() });
 * ```
 */
export function defineWorkerHooks(spec: WorkerHookSpec): WorkerHooks {
  if (spec === null || typeof spec !== 'object') throw new ConfigError('defineWorkerHooks needs an object of hooks');
  for (const k of Object.keys(spec)) {
    if (!(WORKER_HOOK_KINDS as readonly string[]).includes(k)) {
      throw new ConfigError(`defineWorkerHooks: unknown hook ${JSON.stringify(k)} (known: ${WORKER_HOOK_KINDS.join(', ')})`);
    }
    const v = (spec as Record<string, unknown>)[k];
    if (v !== undefined) flatten(k, v);
  }
  return Object.freeze({ ...spec, [WORKER_HOOKS_MARK]: true as const });
}

/** True for what defineWorkerHooks returned. */
export function isWorkerHooks(v: unknown): v is WorkerHooks {
  return typeof v === 'object' && v !== null && (v as { [WORKER_HOOKS_MARK]?: unknown })[WORKER_HOOKS_MARK] === true;
}

/** Merges worker hook declarations (in the order given) into run lists. */
export function collectWorkerHooks(specs: readonly WorkerHookSpec[]): WorkerHookLists {
  const out = {} as Record<(typeof WORKER_HOOK_KINDS)[number], Array<(w: WorkerHookInfo) => unknown>>;
  for (const k of WORKER_HOOK_KINDS) out[k] = specs.flatMap(s => (s[k] === undefined ? [] : (flatten(k, s[k]) as Array<(w: WorkerHookInfo) => unknown>)));
  return out;
}

/** Runs one kind of worker hooks in order; an error is handed to `onError` and the next hook runs. */
export async function runWorkerHooks(
  list: ReadonlyArray<(w: WorkerHookInfo) => unknown>,
  info: WorkerHookInfo,
  onError: (e: unknown, index: number) => void,
): Promise<void> {
  for (let i = 0; i < list.length; i++) {
    try {
      await list[i]!(info);
    } catch (e) {
      onError(e, i);
    }
  }
}
