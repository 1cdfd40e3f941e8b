import { existsSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobLoadError, coerceError } from '../errors';
import { JobRegistry } from './registry';

/**
 * Loads job modules named by the operator (`--jobs`), CommonJS or ESM (.js, .cjs, .mjs), and
 * registers their exports by export name. Only these operator-given paths are ever imported.
 */
export async function loadJobModules(paths: readonly string[], registry = new JobRegistry(), cwd = process.cwd()): Promise<JobRegistry> {
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs)) throw new JobLoadError(`--jobs ${p}: no such file (${abs})`);
    let ns: Record<string, unknown>;
    try {
      ns = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
    } catch (e) {
      throw new JobLoadError(`--jobs ${p}: failed to load: ${coerceError(e).message}`);
    }
    const names = registry.registerModule(ns, basename(abs, extname(abs)));
    if (names.length === 0) {
      throw new JobLoadError(`--jobs ${p}: exports no job (export a class or object with perform(...args), or a function)`);
    }
  }
  return registry;
}
