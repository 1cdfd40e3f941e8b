import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { HISTORY, sampleHistory } from '../admin/inspect';
import { createWebApp, parseBasePath, type WebAppOptions } from './app';

export interface WebServerOptions extends WebAppOptions {
  /** Address to listen on (and accepted as a Host). @defaultValue '127.0.0.1' (loopback only) */
  bind?: string;
  /** TCP port; 0 picks a free one. @defaultValue 5678 (resque-web's) */
  port?: number;
  /**
   * At close, how long requests under way may take to get their answer before their
   * connections are dropped (ms). @defaultValue 6000 (a Redis command's default timeout, 5 s, and 1 s)
   */
  drainMs?: number;
}

export interface WebServer {
  /** `http://<bind>:<port>` and the base path, if any (`http://127.0.0.1:5678/resque`). */
  url: string;
  port: number;
  http: HttpServer;
  /** Stops listening, lets requests under way finish (up to `drainMs`), closes the Redis connections. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_WEB_PORT = 5678;

const DRAIN_MS = 6000;

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  // The server samples the history itself (below), so its app does not on requests.
  const app = createWebApp({ ...o, sampleHistory: false });
  const base = parseBasePath(o.basePath);
  const bind = o.bind ?? '127.0.0.1';
  const http = createServer(getRequestListener(app.fetch));
  http.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    http.once('error', onError);
    http.listen(o.port ?? DEFAULT_WEB_PORT, bind, () => {
      http.removeListener('error', onError);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = bind.includes(':') ? `[${bind}]` : bind;
  let closing: Promise<void> | null = null;
  // The history is written by the dashboard process while it runs, browser open or not (one
  // sample a minute per server, shared by every dashboard through a guard key: docs/DASHBOARD.md).
  let sampling: Promise<unknown> = Promise.resolve();
  const sample = (): void => {
    sampling = sampleHistory(o.dashboard).catch(() => undefined);
  };
  const sampler = o.sampleHistory === false ? null : setInterval(sample, Math.min(HISTORY.intervalMs, 15_000));
  sampler?.unref();
  if (sampler) sample();
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}${base}`,
    port,
    http,
    close() {
      closing ??= (async () => {
        if (sampler) clearInterval(sampler);
        await sampling;
        // Requests under way get their answer (a page, or the server shown as down once its
        // command times out), for as long as a command may take; idle keep-alive connections
        // close at once, and whatever is left after that bound is dropped.
        await new Promise<void>(resolve => {
          const bound = setTimeout(() => http.closeAllConnections(), o.drainMs ?? DRAIN_MS);
          http.close(() => (clearTimeout(bound), resolve()));
          http.closeIdleConnections();
        });
        await o.dashboard.close();
      })();
      return closing;
    },
  };
}
