'use strict';
// Throwaway redis-server instances on free ports, and INFO parsing.
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const Redis = require('ioredis');
const { spawnTracked, stopProcess } = require('./procs');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function redisServerVersion() {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return (/v=(\S+)/.exec(out) || [])[1] || out.trim();
  } catch {
    return null;
  }
}

/** Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no [extra...]`; resolves once it answers PING. */
async function startRedis(label = 'redis-server', extra = []) {
  let lastErr = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawnTracked(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning', ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'] },
      label,
    );
    let stderr = '';
    proc.stderr.on('data', d => (stderr += d));
    const spawnError = new Promise(r => proc.once('error', e => r(e)));
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => undefined);
    const deadline = Date.now() + 5000;
    let exited = false;
    proc.exited.then(() => (exited = true));
    for (;;) {
      const e = await Promise.race([spawnError, new Promise(r => setTimeout(r, 20))]);
      if (e instanceof Error) throw new Error(`cannot start redis-server (${e.message}); install it, e.g. apt-get install -y redis-server`);
      if (exited || Date.now() > deadline) break;
      try {
        if (client.status === 'wait' || client.status === 'end') await client.connect();
        if ((await client.ping()) === 'PONG') {
          return makeHandle(port, proc, client);
        }
      } catch (err) {
        lastErr = err;
        client.disconnect();
      }
    }
    client.disconnect();
    await stopProcess(proc, 'SIGKILL', 2000);
    lastErr = new Error(`redis-server on port ${port} did not answer: ${stderr.trim() || (lastErr && lastErr.message)}`);
  }
  throw lastErr;
}

function makeHandle(port, proc, client) {
  return {
    port,
    proc,
    /** Control connection of the bench itself. */
    client,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      try {
        await client.call('SHUTDOWN', 'NOSAVE');
      } catch {
        /* the connection closes as the server exits */
      }
      client.disconnect();
      await stopProcess(proc, 'SIGTERM', 5000);
    },
  };
}

/** `INFO commandstats` -> { cmd: calls }. */
async function commandCalls(client) {
  const text = await client.info('commandstats');
  const calls = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
}

/** after - before, per command, zero entries dropped. */
function diffCalls(before, after) {
  const d = {};
  for (const [k, v] of Object.entries(after)) {
    const n = v - (before[k] || 0);
    if (n) d[k] = n;
  }
  return d;
}

module.exports = { freePort, startRedis, redisServerVersion, commandCalls, diffCalls };
