/**
 * A short-lived process that checks job modules and a --worker-init module load (verifyModules
 * runs it before a master forks). argv[2] is `{"jobs": [...], "workerInit": ... , "cwd": ...}`;
 * the result goes to fd 3 as JSON (stdout is the modules' own), then the process exits.
 * The init module is imported, never called.
 */
import { writeSync } from 'node:fs';
import { coerceError } from '../errors';
import { runFailureHooks } from './hooks';
import { importInitModule, loadJobModules, type CheckResult, type FailureRequest } from './load';

async function check(): Promise<CheckResult> {
  const req = JSON.parse(process.argv[2] ?? '{}') as { jobs?: string[]; workerInit?: string | null; cwd?: string; failure?: FailureRequest };
  const cwd = req.cwd ?? process.cwd();
  const registry = await loadJobModules(req.jobs ?? [], undefined, cwd);
  if (req.workerInit) await importInitModule(req.workerInit, cwd);
  const failureHooks = registry.names().filter(n => registry.hooksFor(n).onFailure.length > 0);
  if (!req.failure) return { ok: true, jobs: registry.names(), failureHooks };
  // A master's dead child: run its job's onFailure hooks here (issue 12, docs/HOOKS.md).
  const f = req.failure;
  const payload = JSON.parse(f.raw) as { class?: unknown; args?: unknown };
  const className = typeof payload.class === 'string' ? payload.class : '';
  const hooks = registry.hooksFor(className);
  const args = Array.isArray(payload.args) ? payload.args : [];
  const err = Object.assign(new Error(f.error), { name: f.exception });
  const recorded = await runFailureHooks(hooks, err, args, className);
  return {
    ok: true,
    jobs: registry.names(),
    hooksRan: hooks.onFailure.length,
    recordAs: recorded === err ? null : { exception: recorded.name, error: recorded.message },
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
