/**
 * Options from the environment, the way operators set them: every option as `PYRES_<OPTION>`
 * (`PYRES_TERM_TIMEOUT=8` for `--term-timeout 8`), and Ruby Resque's and resque-pool's own names
 * (`QUEUE`/`QUEUES`, `COUNT`, `INTERVAL`, `RESQUE_TERM_TIMEOUT`). A flag on the command line
 * always wins over the environment; a `PYRES_*` variable wins over a Ruby name.
 */
import type { Argv } from 'yargs';

/** The prefix of option variables: `PYRES_TERM_TIMEOUT` is `--term-timeout`. */
export const ENV_PREFIX = 'PYRES';

/**
 * `PYRES_*` variables that are not options: pyres-ts' own internals (the child spec, the module
 * check, the daemon and PID 1 init hand-overs, the addon build switch), the dashboard's secrets read by name, and the test suite's.
 */
export const INTERNAL_ENV_RE =
  /^PYRES_(CHILD_SPEC|MODULE_CHECK|DAEMON_CHILD|INIT_CHILD|TS_DEBUG|TS_SKIP_NATIVE|WEB_AUTH|WEB_DSN|WEB_ALLOWED_HOSTS|TEST_|FUZZ_|CHAOS_|[A-Z_]*TEST_TAG$)/;

/** The argv keys (kebab and camel case) yargs derives from one `PYRES_*` variable name. */
export function envKeys(name: string, prefix = ENV_PREFIX): string[] {
  if (!name.startsWith(`${prefix}_`)) return [];
  const kebab = name
    .slice(prefix.length + 1)
    .toLowerCase()
    .replace(/_/g, '-');
  const camel = kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return [kebab, camel];
}

/** Ruby's and resque-pool's variable names, in order of preference, for each option. */
export const RUBY_ENV: Readonly<Record<string, readonly string[]>> = {
  queues: ['QUEUES', 'QUEUE'],
  pool: ['COUNT'],
  interval: ['INTERVAL'],
  'term-timeout': ['RESQUE_TERM_TIMEOUT'],
};

/**
 * The values Ruby's variables give for options that are known and still unset. `QUEUE` is not
 * used when the queues come another way (a positional list, `--workers`, `--config`), and
 * `COUNT` only goes with queues.
 */
export function rubyEnvValues(
  argv: Readonly<Record<string, unknown>>,
  known: ReadonlySet<string>,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const first = (names: readonly string[]): string | undefined => names.map(n => env[n]).find(v => v !== undefined && v.trim() !== '');
  const unset = (k: string): boolean => known.has(k) && argv[k] === undefined;
  const otherSource = argv['queuesPositional'] !== undefined || argv['workers'] !== undefined || argv['config'] !== undefined;
  const q = first(RUBY_ENV['queues'] as string[]);
  if (q !== undefined && unset('queues') && !otherSource) out['queues'] = q.trim();
  const haveQueues = out['queues'] !== undefined || argv['queues'] !== undefined;
  const count = first(RUBY_ENV['pool'] as string[]);
  if (count !== undefined && unset('pool') && haveQueues) out['pool'] = Number(count);
  for (const k of ['interval', 'term-timeout'] as const) {
    const v = first(RUBY_ENV[k] as string[]);
    if (v !== undefined && unset(k)) out[k] = Number(v);
  }
  return out;
}

/**
 * Turns on `PYRES_*` option variables (yargs' `.env()`) and Ruby's names for the parser. A
 * `PYRES_*` variable that names no option of the command (an internal one such as
 * PYRES_CHILD_SPEC, or one meant for another command) is dropped before the strict check, so
 * it never becomes an "Unknown argument"; a mistyped flag on the command line still does.
 */
export function withEnvOptions<T>(y: Argv<T>, env: NodeJS.ProcessEnv = process.env): Argv<T> {
  const fromEnv = Object.keys(env).filter(n => n.startsWith(`${ENV_PREFIX}_`));
  const mw = (argv: Record<string, unknown>, yy: unknown): void => {
    const opts = (yy as unknown as { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> } }).getOptions();
    const known = new Set<string>(Object.keys(opts.key));
    for (const aliases of Object.values(opts.alias)) for (const a of aliases) known.add(a);
    const a = argv as Record<string, unknown>;
    for (const name of fromEnv) {
      const keys = envKeys(name);
      if (INTERNAL_ENV_RE.test(name) || !keys.some(k => known.has(k))) for (const k of keys) delete a[k];
    }
    const ruby = rubyEnvValues(a, known, env);
    for (const [k, v] of Object.entries(ruby)) {
      a[k] = v;
      a[k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
      for (const alias of opts.alias[k] ?? []) a[alias] = v;
    }
  };
  return y.env(ENV_PREFIX).middleware(mw as never, true) as Argv<T>;
}
