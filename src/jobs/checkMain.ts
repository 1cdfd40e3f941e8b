/**
 * A short-lived process that checks job modules and a --worker-init module load (verifyModules
 * runs it before a master forks). argv[2] is `{"jobs": [...], "workerInit": ... , "cwd": ...}`;
 * the result goes to fd 3 as JSON (stdout is the modules' own), then the process exits.
 * The init module is imported, never called.
 */
import { writeSync } from 'node:fs';
import { coerceError } from '../errors';
import { FAILURE_REDIS_ENV, checkSummary, importInitModule, loadJobModules, type CheckResult, type FailureRequest } from './load';

async function check(): Promise<CheckResult> {
  const req = JSON.parse(process.argv[2] ?? '{}') as { jobs?: string[]; workerInit?: string | null; cwd?: string; failure?: FailureRequest };
  const cwd = req.cwd ?? process.cwd();
  const registry = await loadJobModules(req.jobs ?? [], undefined, cwd);
  if (req.workerInit) await importInitModule(req.workerInit, cwd);
  if (!req.failure) return { ok: true, ...checkSummary(registry) };
  // A master's dead child: run its job's onFailure hooks here (issue 12, docs/HOOKS.md). Loaded
  // only for that: the check a master runs before its children start stays a bare Node start.
  const { runDeadJobFailureHooks } = require('./deadJob') as typeof import('./deadJob');
  const { createLogger } = require('../logging/logger') as typeof import('../logging/logger');
  const f = req.failure;
  let className = '';
  try {
    const payload = JSON.parse(f.raw) as { class?: unknown };
    className = typeof payload.class === 'string' ? payload.class : '';
  } catch {
    /* not JSON */
  }
  const hooks = registry.hooksFor(className);
  const err = Object.assign(new Error(f.error), { name: f.exception });
  // The Redis the dead child worked on (from the environment: never on a command line).
  const redis = process.env[FAILURE_REDIS_ENV] ? (JSON.parse(process.env[FAILURE_REDIS_ENV]) as NonNullable<FailureRequest['redis']>) : undefined;
  const out = await runDeadJobFailureHooks(
    hooks,
    {
      raw: f.raw,
      queue: f.queue ?? '',
      workerId: f.workerId ?? '',
      ...(redis ? { redis } : {}),
      logger: createLogger({ level: 'warn' }),
    },
    err,
  );
  return {
    ok: true,
    jobs: registry.names(),
    hooksRan: out.hooksRan,
    recordAs: out.error === err ? null : { exception: out.error.name, error: out.error.message },
    suppressed: out.suppressed,
  };
}

function report(r: CheckResult): void {
  try {
    writeSync(3, JSON.stringify(r));
  } catch {
    process.stdout.write(JSON.stringify(r) + '\n');
  }
}

check().then(
  r => {
    report(r);
    process.exit(0);
  },
  e => {
    report({ ok: false, message: coerceError(e).message });
    process.exit(1);
  },
);
