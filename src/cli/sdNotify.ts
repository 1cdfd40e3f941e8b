/**
 * systemd's `Type=notify` protocol for the master: READY=1 once every child it wants is
 * registered, STATUS=<the process title's status>, STOPPING=1 when it starts to stop, and
 * WATCHDOG=1 every half of $WATCHDOG_USEC.
 *
 * $NOTIFY_SOCKET is a unix datagram socket (a path, or '@name' in the abstract namespace), and
 * Node has no unix datagram sockets. Without a native addon the datagram is sent by a helper
 * process: `systemd-notify` (on every systemd host), else `python3`. A helper's datagram carries
 * the helper's pid, so the unit needs `NotifyAccess=all`, and MAINPID= names the master. With
 * neither tool present the master says so once and runs on (systemd then times out the start:
 * use Type=simple there). Messages are sent one at a time, in order, never blocking the loop.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The fields of one notification, `READY: '1'` for READY=1. */
export type NotifyFields = Record<string, string>;

/** Finds an executable on PATH, or null. */
export function which(name: string, path: string | undefined = process.env['PATH']): string | null {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** The helper that sends one datagram: a program and its arguments for the given fields. */
export interface NotifyTool {
  readonly name: 'systemd-notify' | 'python3';
  readonly file: string;
  args(fields: NotifyFields): string[];
}

const PY_SEND =
  'import os,socket,sys\n' +
  "a=os.environ['NOTIFY_SOCKET']\n" +
  "a='\\0'+a[1:] if a.startswith('@') else a\n" +
  's=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n' +
  's.connect(a)\n' +
  's.sendall(sys.argv[1].encode())\n';

/** The notification text, one `KEY=value` a line (a newline in a value becomes a space). */
export function formatNotify(fields: NotifyFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

/** systemd-notify if on PATH, else python3, else null. */
export function findNotifyTool(path: string | undefined = process.env['PATH']): NotifyTool | null {
  const sd = which('systemd-notify', path);
  if (sd) return { name: 'systemd-notify', file: sd, args: f => formatNotify(f).split('\n') };
  const py = which('python3', path);
  if (py) return { name: 'python3', file: py, args: f => ['-c', PY_SEND, formatNotify(f)] };
  return null;
}

/** Milliseconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), or null when no watchdog is asked of this pid. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | null {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Sends notifications in order through a helper process. */
export class SdNotifier {
  private chain: Promise<void> = Promise.resolve();
  private warned = false;

  constructor(
    private readonly socket: string,
    private readonly tool: NotifyTool,
    private readonly warn: (msg: string) => void,
    private readonly mainPid: number = process.pid,
  ) {}

  /** Queues one notification; resolves when its helper has exited. */
  send(fields: NotifyFields): Promise<void> {
    const all = { ...fields, MAINPID: String(this.mainPid) };
    this.chain = this.chain.then(
      () =>
        new Promise<void>(resolve => {
          execFile(this.tool.file, this.tool.args(all), { env: { ...process.env, NOTIFY_SOCKET: this.socket }, timeout: 5000 }, err => {
            if (err && !this.warned) {
              this.warned = true;
              this.warn(`sd_notify through ${this.tool.name} failed (${err.message.split('\n')[0]}); further failures are not logged`);
            }
            resolve();
          });
        }),
    );
    return this.chain;
  }

  /** Resolves when every queued notification has been sent. */
  flush(): Promise<void> {
    return this.chain;
  }
}

/** The master events sd_notify follows. */
export interface NotifiedMaster {
  on(event: 'status', fn: (s: string) => void): unknown;
  once(event: 'all-ready', fn: () => void): unknown;
}

/**
 * Follows the master for systemd when $NOTIFY_SOCKET is set; returns a stop function that ends
 * the watchdog and resolves when the last notification is out. Does nothing without the variable.
 */
export function attachSdNotify(
  master: NotifiedMaster,
  log: { info(m: string): void; warn(m: string): void },
  env: NodeJS.ProcessEnv = process.env,
): () => Promise<void> {
  const socket = env['NOTIFY_SOCKET'];
  if (socket === undefined || socket === '') return async () => undefined;
  const tool = findNotifyTool(env['PATH']);
  if (!tool) {
    log.warn(
      'NOTIFY_SOCKET is set but neither systemd-notify nor python3 is on PATH: Node cannot send a unix datagram itself, so systemd is not told READY=1 (use Type=simple, or install one of them)',
    );
    return async () => undefined;
  }
  const n = new SdNotifier(socket, tool, m => log.warn(m));
  let lastStatus = '';
  let sentStatus = '';
  let statusTimer: NodeJS.Timeout | null = null;
  let stopping = false;
  const flushStatus = (): void => {
    statusTimer = null;
    if (lastStatus !== sentStatus) {
      sentStatus = lastStatus;
      void n.send({ STATUS: lastStatus });
    }
  };
  master.once('all-ready', () => {
    sentStatus = lastStatus || 'all children registered';
    void n.send({ READY: '1', STATUS: sentStatus });
  });
  master.on('status', s => {
    lastStatus = s;
    if (!stopping && s.startsWith('stopping')) {
      stopping = true;
      sentStatus = s;
      void n.send({ STOPPING: '1', STATUS: s });
      return;
    }
    // At most one STATUS a second: a busy pool changes its title often.
    statusTimer ??= setTimeout(flushStatus, 1000);
  });
  const every = watchdogIntervalMs(env);
  const dog = every === null ? null : setInterval(() => void n.send({ WATCHDOG: '1' }), every);
  if (dog) {
    dog.unref();
    void n.send({ WATCHDOG: '1' });
  }
  log.info(`sd_notify to ${socket} through ${tool.name}${every === null ? '' : `, watchdog every ${every} ms`}`);
  return async () => {
    if (dog) clearInterval(dog);
    if (statusTimer) clearTimeout(statusTimer);
    await n.flush();
  };
}
