/**
 * A redis-server (or redis-sentinel) the test controls completely: a FIXED port that can be
 * stopped and started again (Redis down at a worker's start, then up on the same address), TLS
 * servers with no plain port, and sentinels. Used by test/faults and test/security.
 *
 *   const r = await RedisProc.start({ extraArgs: ['--appendonly', 'yes'] });
 *   await r.stop();            // port stays reserved for this handle: r.start() reuses it
 *   await r.start();
 *   await r.destroy();         // stop and remove the temp dir
 *
 * Readiness is a PING that answers PONG (or NOAUTH/WRONGPASS: the server is up), over TLS when
 * `tls` is given. Every handle is destroyed by `destroyAllRedis()` (afterAll) and, as a last
 * resort, SIGKILLed when the jest worker exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface RedisProcOptions {
  /** Port to listen on; default a free one. With `tls`, this is the TLS port and the plain port is 0. */
  port?: number;
  /** Extra command-line arguments. */
  extraArgs?: string[];
  /** Serve TLS only: files for --tls-cert-file/--tls-key-file/--tls-ca-cert-file. */
  tls?: { cert: string; key: string; ca: string; authClients?: 'yes' | 'no' | 'optional'; probeCert?: string; probeKey?: string };
  /** Run as a sentinel with this config file body (`port` and `dir` are added). */
  sentinelConfig?: string;
  /** Don't wait for the server to answer (for a start that is expected to fail). */
  noWait?: boolean;
}

const live = new Set<RedisProc>();
let exitHook = false;

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** One PING; resolves the first reply line ('+PONG', '-NOAUTH ...', '-LOADING ...'), or null. */
export function pingOnce(port: number, tlsOpts?: { ca: string; cert?: string; key?: string }, timeoutMs = 700): Promise<string | null> {
  return new Promise(resolve => {
    let data = '';
    let done = false;
    const sock: net.Socket = tlsOpts
      ? tls.connect({
          host: '127.0.0.1',
          port,
          ca: fs.readFileSync(tlsOpts.ca),
          ...(tlsOpts.cert ? { cert: fs.readFileSync(tlsOpts.cert), key: fs.readFileSync(tlsOpts.key!) } : {}),
          servername: 'localhost',
        })
      : net.createConnection({ host: '127.0.0.1', port });
    const finish = (v: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.once(tlsOpts ? 'secureConnect' : 'connect', () => sock.write('PING\r\n'));
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const i = data.indexOf('\r\n');
      if (i >= 0) finish(data.slice(0, i));
    });
    sock.once('error', () => finish(null));
    sock.once('close', () => finish(null));
  });
}

export class RedisProc {
  readonly dir: string;
  port: number;
  proc: ChildProcess | null = null;
  readonly logFile: string;
  private readonly o: RedisProcOptions;

  private constructor(o: RedisProcOptions, port: number) {
    this.o = o;
    this.port = port;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-fault-redis-'));
    this.logFile = path.join(this.dir, 'redis.log');
  }

  /** A handle with a reserved port, not started. */
  static async create(o: RedisProcOptions = {}): Promise<RedisProc> {
    const r = new RedisProc(o, o.port ?? (await freePort()));
    live.add(r);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const x of live) x.proc?.kill('SIGKILL');
      });
    }
    return r;
  }

  static async start(o: RedisProcOptions = {}): Promise<RedisProc> {
    const r = await RedisProc.create(o);
    await r.start();
    return r;
  }

  get url(): string {
    return `${this.o.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  args(): string[] {
    if (this.o.sentinelConfig !== undefined) {
      const conf = path.join(this.dir, 'sentinel.conf');
      if (!fs.existsSync(conf)) {
        fs.writeFileSync(conf, `port ${this.port}\nbind 127.0.0.1\ndir ${this.dir}\n${this.o.sentinelConfig}\n`);
      }
      return [conf, '--sentinel', ...(this.o.extraArgs ?? [])];
    }
    const base = ['--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no'];
    if (this.o.tls) {
      base.push(
        '--port',
        '0',
        '--tls-port',
        String(this.port),
        '--tls-cert-file',
        this.o.tls.cert,
        '--tls-key-file',
        this.o.tls.key,
        '--tls-ca-cert-file',
        this.o.tls.ca,
        '--tls-auth-clients',
        this.o.tls.authClients ?? 'optional',
      );
    } else base.push('--port', String(this.port));
    return [...base, ...(this.o.extraArgs ?? [])];
  }

  async start(): Promise<void> {
    if (this.running) return;
    for (let attempt = 1; ; attempt++) {
      const fd = fs.openSync(this.logFile, 'a');
      const p = spawn('redis-server', this.args(), { cwd: this.dir, stdio: ['ignore', fd, fd] });
      fs.closeSync(fd);
      p.on('error', () => undefined);
      p.unref();
      this.proc = p;
      if (this.o.noWait) return;
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && this.running) {
        const t = this.o.tls;
        const r = await pingOnce(this.port, t ? { ca: t.ca, ...(t.probeCert ? { cert: t.probeCert, key: t.probeKey! } : {}) } : undefined);
        if (r && !/^-LOADING/.test(r)) return;
        await sleep(30);
      }
      const log = fs.readFileSync(this.logFile, 'utf8').slice(-1500);
      p.kill('SIGKILL');
      this.proc = null;
      if (attempt < 5 && /Address already in use/.test(log)) {
        await sleep(300);
        continue;
      }
      throw new Error(`redis-server on port ${this.port} did not come up:\n${log}`);
    }
  }

  /** Stops the server (SIGTERM, or SIGKILL when `kill`). The port stays this handle's. */
  async stop(kill = false): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>(resolve => {
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill(kill ? 'SIGKILL' : 'SIGTERM');
    });
  }

  async restart(opts: { downMs?: number; kill?: boolean } = {}): Promise<void> {
    await this.stop(opts.kill);
    if (opts.downMs) await sleep(opts.downMs);
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    live.delete(this);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function destroyAllRedis(): Promise<void> {
  await Promise.all([...live].map(r => r.destroy()));
}
