import { AsyncLocalStorage } from 'node:async_hooks';
import type { PluginResources } from './resources';
import { ConfigError, UnknownJobClassError } from '../errors';
import type { Logger } from '../logging/logger';
import type { ConnectionOptions } from '../store/connection';
import { collectJobHooks, collectWorkerHooks, isWorkerHooks, type JobHooks, type WorkerHookLists, type WorkerHookSpec } from './hooks';

/** What a running job can reach, through `currentJob()` (or `this.context` on a class instance). */
export interface JobContext {
  /** The queue the job was reserved from. */
  readonly queue: string;
  readonly workerId: string;
  /** The class name as the payload gave it (`myapp.jobs.Archive`, `MyApp::Archive`). */
  readonly className: string;
  /** The decoded payload, extra fields included (decoded as the args are: lossless, pyres dates). */
  readonly payload: Readonly<Record<string, unknown>>;
  /** The payload text exactly as it was reserved: `1.0`, big integers and key order as written. */
  readonly raw: string;
  /** The exact text of the payload's `args` (`[]` when it has none). */
  readonly rawArgs: string;
  /** Fires on TERM/INT, USR1 and timeouts: stop soon, and reject with signal.reason. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * The Redis the job's worker works on (its `--redis`/`--sentinel` connection and
   * `--namespace`), for job-level plugins that write beside the job (statuses). Set by every
   * pyres-ts worker; absent in a context built by hand.
   */
  readonly redis?: { readonly connection: ConnectionOptions; readonly namespace: string };
  /** The worker's plugin resources (a shared connection), closed when it stops; absent in a context built by hand. */
  readonly resources?: PluginResources;
}

/**
 * A job: an object (or class, or class instance) with `perform(...args)`, sync or async (what
 * `defineJob` returns is one), or a plain function given to `register()` by hand. Args come
 * spread, as Resque and pyres call perform.
 */
export type JobDefinition =
  | ((...args: any[]) => unknown)
  | { perform: (...args: any[]) => unknown; timeout?: number; lossless?: boolean; pyresDates?: boolean }
  | (abstract new (
      ...a: any[]
    ) => { perform: (...args: any[]) => unknown });

export interface ResolvedJob {
  /** The registered name that matched. */
  readonly name: string;
  /** Per-class timeout in seconds, from a `timeout` property, if any. */
  readonly timeout?: number;
  /**
   * From a `lossless` property, if boolean: args decoded losslessly (big integers as BigInt);
   * wins over the worker's losslessArgs (--lossless-args).
   */
  readonly lossless?: boolean;
  /** From a `pyresDates` property, if boolean: `@D:` strings as Dates; wins over the worker's pyresDates (--pyres-dates). */
  readonly pyresDates?: boolean;
  invoke(args: unknown[], ctx: JobContext): Promise<unknown>;
  /**
   * What invoke() runs, without its promise: perform's own return value (a promise for an
   * asynchronous job, anything else for a synchronous one), or a throw. Run in the job's context
   * as invoke(). The worker uses it to finish a synchronous job without promises.
   */
  call?(args: unknown[], ctx: JobContext): unknown;
  /** The job's hooks (beforePerform, aroundPerform, afterPerform, onFailure, ...), in run order. */
  readonly hooks: JobHooks;
}

/** Runs `fn` with `ctx` as the current job (currentJob() inside hooks as inside perform). */
export function runInJobContext<T>(ctx: JobContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

const storage = new AsyncLocalStorage<JobContext>();

/** The context of the job running in this async call chain, or undefined outside a job. */
export function currentJob(): JobContext | undefined {
  return storage.getStore();
}

function isJobDefinition(v: unknown): v is JobDefinition {
  if (typeof v === 'function') return true;
  return typeof v === 'object' && v !== null && typeof (v as { perform?: unknown }).perform === 'function';
}

/**
 * The only place a payload's class name becomes code: a lookup in this map. Names from payloads
 * are never passed to require or import.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly hooksOf = new Map<string, JobHooks>();
  private readonly workerHookSpecs: WorkerHookSpec[] = [];
  /** resolve()'s results by class name (cleared by register: a name may then resolve elsewhere). */
  private readonly resolvedOf = new Map<string, { def: JobDefinition; timeout: unknown; lossless: unknown; pyresDates: unknown; resolved: ResolvedJob }>();

  register(name: string, job: JobDefinition): this {
    if (!name) throw new ConfigError('a job needs a non-empty name');
    if (!isJobDefinition(job) || !isPerformer(job)) {
      throw new ConfigError(`job ${JSON.stringify(name)} has no perform() method and is not a plain function`);
    }
    // Collected (and validated) once: a bad hook property is a load-time ConfigError.
    this.hooksOf.set(name, collectJobHooks(job));
    this.jobs.set(name, job);
    this.resolvedOf.clear();
    return this;
  }

  /** Adds worker hooks (what defineWorkerHooks returns, or a plain spec); a job module's are added by registerModule. */
  registerWorkerHooks(spec: WorkerHookSpec): this {
    collectWorkerHooks([spec]);
    this.workerHookSpecs.push(spec);
    return this;
  }

  /** Every registered worker hook, each kind in the order registered. */
  workerHooks(): WorkerHookLists {
    return collectWorkerHooks(this.workerHookSpecs);
  }

  /** The hooks of the job a class name resolves to (none for an unknown name). */
  hooksFor(className: string): JobHooks {
    const found = this.lookup(className);
    return found ? (this.hooksOf.get(found[0]) ?? collectJobHooks(found[1])) : collectJobHooks(null);
  }

  /**
   * Registers a module's jobs; returns their names. A job is an export made by `defineJob`, an
   * object with `perform`, or a class with `perform`. A plain function is NOT one (a helper
   * exported for other code must not be runnable from a payload): `onSkip` hears its name.
   */
  registerModule(exports: Record<string, unknown>, fallbackName?: string, onSkip?: (name: string) => void): string[] {
    const names: string[] = [];
    const skipped = new Set<string>();
    for (const [key, value] of Object.entries(exports)) {
      if (key === '__esModule') continue;
      if (isWorkerHooks(value)) {
        if (!this.workerHookSpecs.includes(value)) this.workerHookSpecs.push(value);
        continue;
      }
      if (key === 'default') {
        if (isModuleJob(value)) {
          const name = (typeof value === 'function' && value.name) || fallbackName;
          if (name && !this.jobs.has(name)) this.register(name, value as JobDefinition), names.push(name);
        } else if (isPlainFunction(value)) {
          skipped.add((value as { name?: string }).name || 'default');
        } else if (value && typeof value === 'object') {
          names.push(...this.registerModule(value as Record<string, unknown>, fallbackName, n => skipped.add(n)));
        }
        continue;
      }
      if (isModuleJob(value)) this.register(key, value as JobDefinition), names.push(key);
      else if (isPlainFunction(value)) skipped.add(key);
    }
    for (const n of skipped) if (!names.includes(n)) onSkip?.(n);
    return [...new Set(names)];
  }

  names(): string[] {
    return [...this.jobs.keys()].sort();
  }

  has(className: string): boolean {
    return this.lookup(className) !== undefined;
  }

  /**
   * Exact name first; then the last segment of a dotted (`a.b.Archive`) or Ruby
   * (`A::Archive`) name, when exactly one registered name has that last segment.
   */
  resolve(className: string): ResolvedJob {
    // One ResolvedJob per class name while these properties of its definition stay as they are
    // (a worker resolves per job): checked before the lookup, which scans every job for a
    // namespaced name; register() clears the cache, so the name still finds the same definition.
    const c = this.resolvedOf.get(className);
    if (c) {
      const cd = c.def as { timeout?: unknown; lossless?: unknown; pyresDates?: unknown };
      if (c.timeout === cd.timeout && c.lossless === cd.lossless && c.pyresDates === cd.pyresDates) return c.resolved;
    }
    const found = this.lookup(className);
    if (!found) throw new UnknownJobClassError(className, this.names());
    const [name, def] = found;
    const d = def as { timeout?: unknown; lossless?: unknown; pyresDates?: unknown };
    const timeout = typeof d.timeout === 'number' ? d.timeout : undefined;
    const flag = (k: 'lossless' | 'pyresDates'): { [key: string]: boolean } => {
      const v = (def as Record<string, unknown>)[k];
      return typeof v === 'boolean' ? { [k]: v } : {};
    };
    const resolved: ResolvedJob = {
      name,
      ...(timeout !== undefined ? { timeout } : {}),
      ...flag('lossless'),
      ...flag('pyresDates'),
      invoke: (args, ctx) => storage.run(ctx, () => invoke(def, args, ctx)),
      call: (args, ctx) => storage.run(ctx, () => callPerform(def, args, ctx)),
      hooks: this.hooksOf.get(name) ?? collectJobHooks(def),
    };
    if (this.resolvedOf.size >= 1024) this.resolvedOf.clear();
    this.resolvedOf.set(className, { def, timeout: d.timeout, lossless: d.lossless, pyresDates: d.pyresDates, resolved });
    return resolved;
  }

  private lookup(className: string): [string, JobDefinition] | undefined {
    const exact = this.jobs.get(className);
    if (exact) return [className, exact];
    const last = lastSegment(className);
    const hits = [...this.jobs.entries()].filter(([n]) => lastSegment(n) === last);
    return hits.length === 1 ? hits[0] : undefined;
  }
}

function lastSegment(name: string): string {
  const parts = name.split(/::|\./);
  return parts[parts.length - 1] ?? name;
}

/** In a module: an object with perform (defineJob's included), or a class / function object with perform. */
function isModuleJob(v: unknown): boolean {
  if (typeof v === 'object' && v !== null) return typeof (v as { perform?: unknown }).perform === 'function';
  if (typeof v !== 'function') return false;
  const f = v as { perform?: unknown; prototype?: { perform?: unknown } };
  return typeof f.perform === 'function' || typeof f.prototype?.perform === 'function';
}

/** A function that is neither a class nor has perform: a job only when registered by hand. */
function isPlainFunction(v: unknown): boolean {
  return typeof v === 'function' && !isModuleJob(v) && !/^class[\s{]/.test(Function.prototype.toString.call(v));
}

/** For register(): a class or object with perform, or a plain function (not a class without perform). */
function isPerformer(v: unknown): boolean {
  if (typeof v === 'object' && v !== null) return typeof (v as { perform?: unknown }).perform === 'function';
  if (typeof v !== 'function') return false;
  const f = v as { perform?: unknown; prototype?: { perform?: unknown } };
  if (typeof f.perform === 'function' || typeof f.prototype?.perform === 'function') return true;
  return !/^class[\s{]/.test(Function.prototype.toString.call(v));
}

async function invoke(def: JobDefinition, args: unknown[], ctx: JobContext): Promise<unknown> {
  return callPerform(def, args, ctx);
}

/** The job's perform (or the plain function) called with `args`: its own return value. */
function callPerform(def: JobDefinition, args: unknown[], ctx: JobContext): unknown {
  if (typeof def === 'function') {
    const f = def as unknown as { perform?: (...a: unknown[]) => unknown; prototype?: { perform?: unknown } };
    if (typeof f.perform === 'function') return f.perform(...args);
    if (typeof f.prototype?.perform === 'function') {
      const inst = new (def as new () => { perform: (...a: unknown[]) => unknown; context?: JobContext })();
      inst.context = ctx;
      return inst.perform(...args);
    }
    return (def as (...a: unknown[]) => unknown)(...args);
  }
  return def.perform(...args);
}
