import { isIP } from 'node:net';
import { ConfigError } from '../errors';

/**
 * The dashboard's answer to DNS rebinding. A page on `evil.example` whose name an attacker
 * re-points at 127.0.0.1 (or at a dashboard on the intranet) is, to the browser, same-origin
 * with the dashboard: it could read every page, get a CSRF token and clear `failed`. What gives
 * it away is the Host header, which carries the attacker's name. So, unless basic auth is on
 * (the browser never sends the dashboard's credentials to another origin), a request is served
 * only when its Host is
 *
 * - `localhost`, `127.0.0.1` or `[::1]` (any port: ssh tunnels and `docker -p` change it),
 * - the address given to --bind, or, bound to 0.0.0.0 / ::, any IP address (an address
 *   literal cannot be re-pointed, so it is never a rebinding),
 * - a name given with --allowed-host (`name` = any port, `name:port` = that port only;
 *   `*` = any Host, the check off).
 *
 * With auth on, --allowed-host still restricts when given. A request without a Host header is
 * not from a browser (over node:http it never gets here: @hono/node-server answers 400); it is
 * let through, for `app.request()` in-process.
 */
export interface HostPolicyOptions {
  /** The address the server listens on. @defaultValue '127.0.0.1' */
  bind?: string;
  /** --allowed-host values. */
  allowedHosts?: readonly string[];
  /** Basic auth on? Then, without allowedHosts, every Host is served. */
  auth?: boolean;
}

interface HostPort {
  /** Lower case, no trailing dot; IPv6 without brackets. */
  host: string;
  port: number | null;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
const NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** `name`, `name:port`, `1.2.3.4[:port]`, `[v6][:port]` (or a bare v6 address); null if it is none of these. */
export function parseHostPort(value: string): HostPort | null {
  const v = value.trim().toLowerCase();
  let port: number | null = null;
  let host: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return null;
    host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (rest !== '') {
      if (!/^:\d{1,5}$/.test(rest)) return null;
      port = Number(rest.slice(1));
    }
    if (isIP(host) !== 6) return null;
  } else if (isIP(v) === 6) {
    host = v;
  } else {
    const m = /^(.*?)(?::(\d{1,5}))?$/.exec(v);
    host = m?.[1] ?? '';
    if (m?.[2] !== undefined) port = Number(m[2]);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (isIP(host) !== 4 && !NAME.test(host)) return null;
  }
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host, port };
}

/** --allowed-host / $PYRES_WEB_ALLOWED_HOSTS values (repeatable, each may be comma-separated), checked. */
export function parseAllowedHosts(values: ReadonlyArray<string | undefined>): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const part of (v ?? '').split(',')) {
      const s = part.trim();
      if (s === '') continue;
      if (s !== '*' && !parseHostPort(s)) {
        throw new ConfigError(`--allowed-host ${JSON.stringify(s)} is not a host name or address (name, name:port, 10.0.0.5, [::1]:5678, or * for any)`);
      }
      out.push(s);
    }
  }
  return out;
}

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/** A predicate on the Host header; null when every Host is served. */
export function hostPolicy(o: HostPolicyOptions): ((hostHeader: string | undefined) => boolean) | null {
  const allowed = o.allowedHosts ?? [];
  if (allowed.includes('*')) return null;
  if (o.auth && allowed.length === 0) return null;
  const bind = (o.bind ?? '127.0.0.1')
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  const anyAddress = WILDCARD_BINDS.has(bind);
  const names = allowed.map(a => parseHostPort(a)).filter((x): x is HostPort => x !== null);
  return hostHeader => {
    if (hostHeader === undefined || hostHeader === '') return true;
    const h = parseHostPort(hostHeader);
    if (!h) return false;
    if (LOOPBACK_NAMES.has(h.host) || h.host === bind) return true;
    if (anyAddress && isIP(h.host) !== 0) return true;
    return names.some(n => n.host === h.host && (n.port === null || n.port === (h.port ?? 80)));
  };
}

/** The one-line 403 body: what was refused, and the flag that would accept it. */
export function refusedHostText(hostHeader: string): string {
  const shown = hostHeader.length > 200 ? `${hostHeader.slice(0, 200)}...` : hostHeader;
  const name = parseHostPort(hostHeader)?.host;
  const flag = name ? `--allowed-host ${name.includes(':') ? `[${name}]` : name}` : '--allowed-host <name>';
  return `Refused: Host ${JSON.stringify(shown)} is not a name of this dashboard (a DNS-rebinding guard); if it is yours, start pyres-ts web with ${flag} (or $PYRES_WEB_ALLOWED_HOSTS)\n`;
}
