/**
 * Where a master finds its resque-pool YAML file and which environment section it uses, as
 * resque-pool does: `--config`, else `$RESQUE_POOL_CONFIG`, else `resque-pool.yml` or
 * `config/resque-pool.yml` in the working directory; the environment is `--environment`
 * (`-E`), else `$RACK_ENV`, `$RAILS_ENV`, `$RESQUE_ENV` (resque-pool's order), else `$NODE_ENV`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** resque-pool's default file names, in the order it looks for them. */
export const POOL_CONFIG_FILES = ['resque-pool.yml', 'config/resque-pool.yml'] as const;

/** The pool file to use when `--config` is not given, or undefined when there is none. */
export function defaultPoolConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const fromEnv = env['RESQUE_POOL_CONFIG'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return resolve(cwd, fromEnv);
  for (const f of POOL_CONFIG_FILES) {
    const p = resolve(cwd, f);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The environment section to use: the flag, else resque-pool's variables, else NODE_ENV. */
export function poolEnvironment(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const pick = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);
  return pick(flag) ?? pick(env['RACK_ENV']) ?? pick(env['RAILS_ENV']) ?? pick(env['RESQUE_ENV']) ?? pick(env['NODE_ENV']);
}

/** The variables `-E NAME` sets for the master and its children, as resque-pool does. */
export const ENVIRONMENT_VARS = ['RACK_ENV', 'RAILS_ENV', 'RESQUE_ENV'] as const;
