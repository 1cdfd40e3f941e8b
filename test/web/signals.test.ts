/**
 * `pyres-ts web` and its signals, as a process: real bin/, a real redis-server, real signals.
 * USR1 used to open Node's inspector on 127.0.0.1:9229 (Node's default for USR1: any local user
 * could then run code as the dashboard's user), USR2, QUIT and HUP killed it by signal, and a
 * TERM while a request waited on a silent Redis dropped that request and printed ioredis'
 * "Unhandled error event".
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { type Spawned, killAll, spawnCli } from '../support/spawn';

let server: RedisServerHandle;

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  try {
    process.kill(server.pid, 'SIGCONT');
  } catch {
    /* gone */
  }
  expect(await killAll()).toEqual([]);
});
afterAll(async () => {
  await server?.stop();
});

async function startWeb(extra: string[] = []): Promise<{ web: Spawned; url: string }> {
  const web = spawnCli(['web', '--redis', server.url, '--web-port', '0', ...extra]);
  const line = await web.waitForLine(/dashboard on http:\/\/\S+\//, 10000);
  return { web, url: /dashboard on (http:\/\/\S+\/)/.exec(line)![1]! };
}

function get(url: string, timeoutMs = 20000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', c => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

describe('pyres-ts web: signals', () => {
  it('USR1 and USR2 are logged and change nothing (no inspector opens); QUIT then stops it, exit 0', async () => {
    const { web, url } = await startWeb();
    for (const sig of ['SIGUSR1', 'SIGUSR2'] as const) {
      const from = web.mark();
      web.kill(sig);
      await web.waitForLine(new RegExp(`${sig} received: nothing to do for the dashboard`), 5000, from);
    }
    expect((await get(url)).status).toBe(200);
    expect(web.stderr()).not.toMatch(/Debugger listening|inspector/);
    web.kill('SIGQUIT');
    expect(await web.waitForEnd(10000)).toEqual({ code: 0, signal: null });
  });

  it('HUP (its terminal gone) stops it, exit 0', async () => {
    const { web } = await startWeb();
    web.kill('SIGHUP');
    expect(await web.waitForEnd(10000)).toEqual({ code: 0, signal: null });
    expect(web.stderr()).toMatch(/\[web\] stopping/);
  });

  it('TERM while a request waits on a silent Redis: the request still gets its page (the server shown down), no unhandled error, exit 0', async () => {
    const { web, url } = await startWeb(['--redis-timeout', '1']);
    expect((await get(url)).status).toBe(200);
    process.kill(server.pid, 'SIGSTOP');
    const answer = get(url);
    // The request is under way once the server has it: its access is not logged, so wait until
    // the dashboard's command to the stopped Redis is pending (the socket has unread bytes).
    await waitForPendingCommand(server.pid);
    web.kill('SIGTERM');
    const r = await answer;
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/is (down|unreachable)/);
    expect(await web.waitForEnd(15000)).toEqual({ code: 0, signal: null });
    expect(web.stderr()).not.toMatch(/Unhandled error event/);
  });
});

/** Resolves once the stopped redis-server has bytes waiting on a client socket (/proc/net/tcp rx_queue). */
async function waitForPendingCommand(pid: number): Promise<void> {
  const inodes = (): Set<string> => {
    const out = new Set<string>();
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
    return out;
  };
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const mine = inodes();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        const rx = Number.parseInt(f[4]!.split(':')[1]!, 16);
        if (rx > 0 && mine.has(f[9]!)) return;
      }
    }
    await new Promise(r => setTimeout(r, 20));
  }
  throw new Error('no command reached the stopped redis-server within 10 s');
}
