#!/usr/bin/env node
'use strict';
// `node bench/statusWait.js [N]` (after `npm run build`): enqueueAndWait round-trip latency into one
// idle `pyres-ts worker` (a status job that returns at once), p50/p99 over N round trips (default
// 300), against a throwaway redis-server. Figures only: it never passes or fails on time.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { Client } = require('../dist/index.js');

const root = path.resolve(__dirname, '..');
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

async function main() {
  const n = Number(process.argv[2] ?? 300);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-bench-status-'));
  const jobs = path.join(tmp, 'jobs.js');
  fs.writeFileSync(
    jobs,
    `const { defineStatusJob } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});\nexports.Echo = defineStatusJob({ perform: o => o.i });\n`,
  );
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let worker = null;
  const client = new Client({ connection: { url } });
  try {
    for (let i = 0; ; i++) {
      try {
        await client.connect();
        await client.store.serverTime();
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise(r => setTimeout(r, 50));
      }
    }
    worker = spawn(process.execPath, [path.join(root, 'bin', 'pyres-ts'), 'worker', '--queues', 'statused', '--jobs', jobs], {
      env: { ...process.env, REDIS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise((resolve, reject) => {
      let out = '';
      const on = d => ((out += d), /registered;/.test(out) && resolve());
      worker.stdout.on('data', on);
      worker.stderr.on('data', on);
      worker.once('exit', c => reject(new Error(`worker exited ${c}: ${out}`)));
    });
    for (let i = 0; i < 20; i++) await client.enqueueAndWait('statused', 'Echo', { i }, { timeout: 30 }); // warm-up
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      const r = await client.enqueueAndWait('statused', 'Echo', { i }, { timeout: 30 });
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r !== i) throw new Error(`wrong result ${r} for ${i}`);
    }
    ms.sort((a, b) => a - b);
    const q = p => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
    console.log(
      `enqueueAndWait round trip into an idle worker, ${n} runs: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'})`,
    );
  } finally {
    await client.close().catch(() => undefined);
    worker?.kill('SIGTERM');
    if (worker) await new Promise(r => (worker.exitCode !== null ? r() : worker.once('exit', r)));
    redis.kill('SIGTERM');
    await new Promise(r => (redis.exitCode !== null ? r() : redis.once('exit', r)));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
