/**
 * `--metrics-port` of `pyres-ts worker` and `pyres-ts master`: a small HTTP server with
 *
 * - `GET /metrics`: the process's metrics (Prometheus text format, src/metrics/);
 * - `GET /healthz`: 200 while the process runs and its event loop answers (this reply is it);
 * - `GET /readyz`: 200 when registered and Redis answers (a master: every child registered),
 *   503 otherwise, with the reason as the body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsListen } from '../config/obs';
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { METRICS_CONTENT_TYPE } from '../metrics/processMetrics';
import type { Watched } from '../metrics/watch';

/** A running metrics server. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on `listen` and serves /metrics, /healthz and /readyz for `w`. */
export async function startMetricsServer(w: Watched, listen: MetricsListen, log: Logger): Promise<MetricsServer> {
  const http: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'GET only\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      void w.readiness().then(
        r => send(r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`),
        e => send(503, `not ready: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      // The readiness gauge reflects a fresh probe.
      void w
        .readiness()
        .catch(() => undefined)
        .then(() => w.metrics.text())
        .then(
          t => send(200, t, METRICS_CONTENT_TYPE),
          e => send(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
        );
      return;
    }
    send(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  http.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(new ConfigError(`--metrics-port ${listen.host}:${listen.port}: ${e.message}`));
    http.once('error', onError);
    http.listen(listen.port, listen.host, () => {
      http.removeListener('error', onError);
      resolve();
    });
  });
  http.on('error', e => log.warn(`metrics server: ${e.message}`));
  const port = (http.address() as AddressInfo).port;
  log.info(`metrics on http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/metrics (/healthz, /readyz)`);
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= new Promise<void>(resolve => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
