/**
 * The observability settings: `--log-format` and `--metrics-port`. Validated here, like every
 * other setting; each error names its flag.
 */
import { type LogFormat, parseLogFormat } from '../logging/logger';
import { fail, show } from './check';

/** Where `--metrics-port` serves /metrics, /healthz and /readyz. */
export interface MetricsListen {
  /** The address to bind (default: every interface, as a Kubernetes probe needs). */
  host: string;
  /** The TCP port; 0: any free port (the log says which). */
  port: number;
}

/** `--log-format`: 'text' (the default, undefined) or 'json'. */
export function resolveLogFormat(v: unknown, prefix = ''): LogFormat {
  if (v === undefined || v === null) return 'text';
  const f = typeof v === 'string' ? parseLogFormat(v) : null;
  if (!f) fail('logFormat', `must be text or json, got ${show(v)}`, prefix);
  return f;
}

/**
 * `--metrics-port`: a port (`9400`: every interface) or `host:port` (`127.0.0.1:9400`);
 * undefined or null: no metrics server.
 */
export function resolveMetricsListen(v: unknown, prefix = ''): MetricsListen | null {
  if (v === undefined || v === null || v === '') return null;
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : null;
  const m = text === null ? null : /^(?:(\[[0-9a-fA-F:.]+\]|[^:\s]+):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    fail('metricsPort', `must be a TCP port (0-65535) or host:port, got ${show(v)}`, prefix);
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, '') : '0.0.0.0';
  return { host, port };
}
