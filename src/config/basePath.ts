import { ConfigError } from '../errors';

/**
 * Checks a dashboard base path (`pyres-ts web --base-path`, `WebAppOptions.basePath`): '' or '/'
 * (the root), or '/seg[/seg…]' of URL-safe characters, a trailing slash dropped; no '.' or '..'
 * segment. Returns it normalised ('' for the root); throws a one-line ConfigError naming the flag.
 */
export function parseBasePath(s: string | undefined): string {
  if (s === undefined || s === '' || s === '/') return '';
  const t = s.endsWith('/') ? s.slice(0, -1) : s;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(t) || t.split('/').some(x => x === '.' || x === '..'))
    throw new ConfigError(`--base-path must be a URL path like /resque (segments of letters, digits, . _ ~ -), got ${JSON.stringify(s)}`);
  return t;
}
