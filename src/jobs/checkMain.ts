/**
 * A short-lived process that checks job modules and a --worker-init module load (verifyModules
 * runs it before a master forks). argv[2] is `{"jobs": [...], "workerInit": ... , "cwd": ...}`;
 * the result goes to fd 3 as JSON (stdout is the modules' own), then the process exits.
 * The init module is imported, never called.
 */
import { writeSync } from 'node:fs';
import { coerceError } from '../errors';
import { importInitModule, loadJobModules, type CheckResult } from './load';

async function check(): Promise<CheckResult> {
  const req = JSON.parse(process.argv[2] ?? '{}') as { jobs?: string[]; workerInit?: string | null; cwd?: string };
  const cwd = req.cwd ?? process.cwd();
  const registry = await loadJobModules(req.jobs ?? [], undefined, cwd);
  if (req.workerInit) await importInitModule(req.workerInit, cwd);
  return { ok: true, jobs: registry.names() };
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
