/**
 * Test helper: runs a REAL `redis-server` child process on a free loopback
 * port, with its own temporary data directory.
 *
 *   const srv = await startRedis({ appendonly: true });
 *   ... new Redis(srv.url) ...
 *   await srv.restart();   // same port + dir, new process (AOF tests)
 *   await srv.stop();      // SIGTERM (SIGKILL after 3s), removes the temp dir
 *
 * The shared server used by the whole suite is started by
 * test/support/globalSetup.ts; test files reach it via testDbUrl().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';

export interface StartRedisOptions {
  /** Start with `--appendonly yes` (default: no). */
  appendonly?: boolean;
  /**
   * Data directory. Default: a fresh temp dir, removed by stop(). A dir given
   * here is created if needed and is NOT removed by stop().
   */
  dir?: string;
  /** Extra command-line arguments appended verbatim, e.g. ['--maxmemory', '10mb']. */
  extraArgs?: string[];
}

export interface RedisServerHandle {
  port: number;
  /** `redis://127.0.0.1:<port>` (no db suffix). */
  url: string;
  /** Pid of the current redis-server process (changes after restart()). */
  pid: number;
  dir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

declare global {
  // Handle of the suite-wide server, set by globalSetup (main jest process only).
  // eslint-disable-next-line no-var
  var __PYRES_REDIS__: RedisServerHandle | undefined;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 5000;
const STOP_GRACE_MS = 3000;
const PORT_ATTEMPTS = 5;
const NOT_FOUND_MSG = 'redis-server not found: apt-get install -y redis-server';

/** Executable to run; REDIS_SERVER_BIN may point at a specific binary. */
function redisServerBin(): string {
  return process.env.REDIS_SERVER_BIN || 'redis-server';
}

// ---------------------------------------------------------------------------
// Last-resort cleanup of every server this module started.
// ---------------------------------------------------------------------------

interface Tracked {
  child: ChildProcess;
  dir: string;
  removeDir: boolean;
}

const running = new Set<Tracked>();
const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function killAllSync(): void {
  for (const t of running) {
    try {
      if (t.child.exitCode === null && t.child.signalCode === null) {
        t.child.kill('SIGKILL');
      }
    } catch {
      /* already gone */
    }
    if (t.removeDir) {
      try {
        fs.rmSync(t.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  }
  running.clear();
}

function onProcessEnd(): void {
  killAllSync();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllSync();
  uninstallHooks();
  // If nobody else handles this signal, restore the default behaviour
  // (terminate) that our listener suppressed.
  if (process.listenerCount(signal) === 0) {
    process.kill(process.pid, signal);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onProcessEnd);
  for (const sig of EXIT_SIGNALS) process.on(sig, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.removeListener('exit', onProcessEnd);
  for (const sig of EXIT_SIGNALS) process.removeListener(sig, onSignal);
}

function track(t: Tracked): void {
  running.add(t);
  installHooks();
}

function untrack(t: Tracked): void {
  running.delete(t);
  if (running.size === 0) uninstallHooks();
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Ask the kernel for a free loopback port (bind to 0, read it, close). */
async function getFreePort(): Promise<number> {
  let lastErr: unknown;
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.once('error', reject);
        srv.listen(0, HOST, () => {
          const addr = srv.address();
          const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
          srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read bound port'))));
        });
      });
    } catch (err) {
      lastErr = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      await sleep(20);
    }
  }
  throw new Error(`could not find a free port on ${HOST}: ${String(lastErr)}`);
}

function readTailFrom(file: string, start: number, maxBytes = 4000): string {
  try {
    const buf = fs.readFileSync(file).subarray(start);
    return buf
      .subarray(Math.max(0, buf.length - maxBytes))
      .toString('utf8')
      .trim();
  } catch {
    return '';
  }
}

/**
 * One raw-TCP probe: sends an inline `INFO server` and returns the pid of the
 * redis that answered, 'loading' while it is loading its dataset, or null if
 * nothing usable answered. Checking the pid makes sure we talk to OUR process
 * and not to some other server that happens to own the port.
 */
function probe(port: number, timeoutMs = 500): Promise<number | 'loading' | null> {
  return new Promise(resolve => {
    let data = '';
    let done = false;
    const sock = net.createConnection({ host: HOST, port });
    const finish = (v: number | 'loading' | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write('INFO server\r\n'));
    sock.on('data', (chunk: string) => {
      data += chunk;
      if (data.startsWith('-')) {
        finish(/^-LOADING/.test(data) ? 'loading' : null);
        return;
      }
      const m = /\r\nprocess_id:(\d+)\r\n/.exec(data);
      if (m) finish(Number(m[1]));
    });
    sock.once('error', () => finish(null));
    sock.once('close', () => finish(null));
  });
}

/** True if something accepts TCP connections on 127.0.0.1:<port>. */
export function portAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise(resolve => {
    const sock = net.createConnection({ host: HOST, port });
    const finish = (v: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

function waitForEnd(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      child.removeListener('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep the event loop alive until we've seen it exit
  try {
    child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  if (await waitForEnd(child, STOP_GRACE_MS)) return;
  try {
    child.kill('SIGKILL');
  } catch {
    /* already gone */
  }
  await waitForEnd(child, STOP_GRACE_MS);
}

// ---------------------------------------------------------------------------
// Launching
// ---------------------------------------------------------------------------

class PortInUseError extends Error {}

interface LaunchSpec {
  port: number;
  dir: string;
  appendonly: boolean;
  extraArgs: string[];
}

async function launch(spec: LaunchSpec): Promise<ChildProcess> {
  const logFile = path.join(spec.dir, 'redis-server.log');
  const args = [
    '--port',
    String(spec.port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    spec.appendonly ? 'yes' : 'no',
    '--dir',
    spec.dir,
    '--daemonize',
    'no',
    ...spec.extraArgs,
  ];

  // stdout/stderr go straight to a log file: no pipes to drain or to keep
  // the event loop alive, and the log is there to explain failures.
  const logFd = fs.openSync(logFile, 'a');
  const logStart = fs.fstatSync(logFd).size;
  let child: ChildProcess;
  try {
    child = spawn(redisServerBin(), args, {
      cwd: spec.dir,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    fs.closeSync(logFd);
  }

  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });
  // Swallow later 'error' events (e.g. failed kill) so they never crash a test.
  child.on('error', () => undefined);

  const logSinceStart = () => readTailFrom(logFile, logStart);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      if (spawnError.code === 'ENOENT') throw new Error(NOT_FOUND_MSG);
      throw new Error(`could not start redis-server: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = logSinceStart();
      if (/Address already in use/i.test(log)) {
        throw new PortInUseError(`port ${spec.port} already in use`);
      }
      throw new Error(
        `redis-server exited during startup (code ${child.exitCode}, signal ${child.signalCode}).` + (log ? `\n--- redis-server log ---\n${log}` : ''),
      );
    }
    if (child.pid !== undefined) {
      const answer = await probe(spec.port);
      if (answer === child.pid) {
        child.unref(); // a forgotten server must not keep the test process alive
        return child;
      }
    }
    if (Date.now() > deadline) {
      await terminate(child);
      const log = logSinceStart();
      throw new Error(`redis-server on port ${spec.port} did not answer within ${READY_TIMEOUT_MS}ms` + (log ? `\n--- redis-server log ---\n${log}` : ''));
    }
    await sleep(25);
  }
}

/**
 * Start a real redis-server on a free 127.0.0.1 port. Resolves once the server
 * answers on that port (max ~5s). Rejects with
 * "redis-server not found: apt-get install -y redis-server" if the binary is missing.
 */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const removeDir = opts.dir === undefined;
  const dir =
    opts.dir !== undefined ? (fs.mkdirSync(opts.dir, { recursive: true }), path.resolve(opts.dir)) : fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-redis-'));
  const appendonly = opts.appendonly === true;
  const extraArgs = [...(opts.extraArgs ?? [])];

  let child: ChildProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await getFreePort();
      try {
        child = await launch({ port, dir, appendonly, extraArgs });
        break;
      } catch (err) {
        if (err instanceof PortInUseError && attempt < PORT_ATTEMPTS) continue;
        throw err;
      }
    }
  } catch (err) {
    if (removeDir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const tracked: Tracked = { child, dir, removeDir };
  track(tracked);
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  // Serialise stop()/restart() calls on one handle.
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const next = busy.then(fn, fn);
    busy = next.catch(() => undefined);
    return next;
  };

  const handle: RedisServerHandle = {
    port,
    url: `redis://${HOST}:${port}`,
    get pid(): number {
      return tracked.child.pid ?? -1;
    },
    dir,
    stop: () =>
      serial(async () => {
        if (stopped) return;
        stopped = true;
        try {
          await terminate(tracked.child);
        } finally {
          untrack(tracked);
          if (removeDir) fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
    restart: () =>
      serial(async () => {
        if (stopped) throw new Error(`redis-server on port ${port} was stopped; cannot restart it`);
        await terminate(tracked.child);
        // Same port and dir. The port was just released by the old process;
        // retry briefly in case the kernel has not let go of it yet.
        for (let attempt = 1; ; attempt++) {
          try {
            tracked.child = await launch({ port, dir, appendonly, extraArgs });
            return;
          } catch (err) {
            if (err instanceof PortInUseError && attempt < PORT_ATTEMPTS) {
              await sleep(200);
              continue;
            }
            throw err;
          }
        }
      }),
  };
  return handle;
}

// ---------------------------------------------------------------------------
// Helpers for test files (shared server started by globalSetup)
// ---------------------------------------------------------------------------

/** URL of the suite-wide redis-server (no db suffix), set by jest globalSetup. */
export function redisUrlForTests(): string {
  const url = process.env.PYRES_TEST_REDIS_URL;
  if (!url) {
    throw new Error(
      'PYRES_TEST_REDIS_URL is not set: the shared test redis-server is started by ' +
        'test/support/globalSetup.ts — run the tests through jest with jest.config.js',
    );
  }
  return url;
}

/**
 * Shared server URL with a db index private to this jest worker:
 * `<url>/<db>`, db = JEST_WORKER_ID mapped into 1..15 (db 0 is never used),
 * so parallel workers never share a db.
 */
export function testDbUrl(): string {
  const worker = Number(process.env.JEST_WORKER_ID) || 1;
  const db = ((Math.max(1, Math.floor(worker)) - 1) % 15) + 1;
  return `${redisUrlForTests().replace(/\/+$/, '')}/${db}`;
}

/** FLUSHDB on the db named by `url`, via a short-lived client that is closed afterwards. */
export async function flushTestDb(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  client.on('error', () => undefined); // surfaced through the rejected promises below
  try {
    await client.connect();
    await client.flushdb();
    await client.quit();
  } catch (err) {
    client.disconnect();
    throw err;
  }
}
