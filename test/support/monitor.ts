/**
 * MONITOR on a socket of its own, for tests that watch the commands Redis executes.
 *
 * Not ioredis' `monitor()`: ioredis marks its connection as monitoring in a promise callback
 * after MONITOR's `+OK`, so when the `+OK` and the first monitored command arrive in one TCP
 * chunk (a busy server), that command is taken as a reply to nothing and ioredis throws
 * "Command queue state error" into the test. Here every line after the `+OK` is a monitored
 * command, parsed with Redis' own escapes (parseMonitorArgs). Same event as ioredis':
 * `on('monitor', (time, args, source, database) => …)`.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import Redis from 'ioredis';
import { parseMonitorArgs } from './monitorLog';

export interface MonitorClient extends EventEmitter {
  on(event: 'monitor', fn: (time: string, args: string[], source: string, database: string) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  disconnect(): void;
}

const LINE = /^(\d+\.\d+) \[(\d+) ([^\]]+)\] ?(.*)$/;

/**
 * Resolves once Redis answered MONITOR; `target` is a Redis URL or a client whose options are used.
 * `db`: only that database's commands (MONITOR sends every database's: the other test files'
 * traffic, megabyte payloads included, is skipped before its arguments are parsed, so a busy
 * neighbour does not hold this stream back).
 */
export async function openMonitor(target: string | Redis, opts: { db?: number } = {}): Promise<MonitorClient> {
  const onlyDb = opts.db === undefined ? null : String(opts.db);
  const probe = typeof target === 'string' ? new Redis(target, { lazyConnect: true }) : target;
  const { host, port, path, username, password } = probe.options;
  if (probe !== target) probe.disconnect();
  const sock: Socket = path ? connect(path) : connect(port ?? 6379, host ?? '127.0.0.1');
  const mon = new EventEmitter() as MonitorClient;
  let closed = false;
  mon.disconnect = () => {
    closed = true;
    sock.destroy();
  };
  return new Promise<MonitorClient>((resolve, reject) => {
    let okays = password ? 2 : 1;
    let pending = '';
    const fail = (err: Error): void => {
      if (closed) return;
      if (okays > 0) {
        okays = -1;
        mon.disconnect();
        reject(err);
        // Once open: to whoever listens (a test that did not listen sees its waits time out).
      } else if (mon.listenerCount('error') > 0) mon.emit('error', err);
    };
    sock.on('error', fail);
    sock.on('connect', () => {
      const auth = password ? (username ? ['AUTH', username, password] : ['AUTH', password]) : null;
      const cmd = (args: string[]): string => `*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
      sock.write((auth ? cmd(auth) : '') + cmd(['MONITOR']));
    });
    sock.setEncoding('latin1'); // MONITOR escapes every byte outside printable ASCII as \xHH
    sock.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (line.startsWith('-')) return fail(new Error(`MONITOR: ${line.slice(1)}`));
        if (okays > 0) {
          if (line !== '+OK') return fail(new Error(`MONITOR: unexpected reply ${line}`));
          if (--okays === 0) resolve(mon);
          continue;
        }
        const m = LINE.exec(line.slice(1));
        if (!m) return fail(new Error(`not a MONITOR line: ${line}`));
        if (onlyDb !== null && m[2] !== onlyDb) continue;
        mon.emit('monitor', m[1]!, parseMonitorArgs(m[4]!), m[3]!, m[2]!);
      }
    });
    sock.on('close', () => fail(new Error('MONITOR connection closed')));
  });
}
