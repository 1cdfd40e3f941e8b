#!/usr/bin/env node
'use strict';
// `npm run demo`: a throwaway redis-server (unless --redis/REDIS_URL is given or something
// answers on 127.0.0.1:6379), sample jobs enqueued, a pyres-ts master with two children
// working them off, then the same view resque-web would show, and the dashboard's URL over that
// data. Leaves nothing running; with --keep (`npm run demo -- --keep`) the dashboard (and the
// throwaway redis-server) stay up until Ctrl-C, which stops both.
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Admin, Client, startWebServer } = require('../dist/index.js');
const { formatStatus } = require('../dist/cli/status.js');

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'bin', 'pyres-ts');

function answers(port, host = '127.0.0.1') {
  return new Promise(resolve => {
    const s = net.connect({ port, host });
    const done = ok => (s.destroy(), resolve(ok));
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', d => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startThrowawayRedis() {
  const which = spawnSync('sh', ['-c', 'command -v redis-server']);
  if (which.status !== 0) {
    console.error('redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server) or pass --redis redis://host:port');
    process.exit(1);
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-demo-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !(await answers(port)); i++) await new Promise(r => setTimeout(r, 100));
  const stop = () => {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  return { url: `redis://127.0.0.1:${port}`, stop };
}

async function main() {
  const keep = process.argv.includes('--keep');
  const i = process.argv.indexOf('--redis');
  let url = i > 0 ? process.argv[i + 1] : process.env.REDIS_URL;
  let namespace = 'resque';
  let server = null;
  if (!url && (await answers(6379))) {
    url = 'redis://127.0.0.1:6379';
    namespace = 'pyres-demo'; // someone's Redis: stay out of their resque: keys
  }
  if (!url) {
    server = await startThrowawayRedis();
    url = server.url;
    console.log(`started a throwaway redis-server at ${url}`);
  }
  console.log(`Redis: ${url}  namespace: ${namespace}\n`);

  const client = new Client({ connection: { url }, namespace });
  await client.connect();
  let n = 0;
  for (let k = 1; k <= 8; k++) await client.enqueue('p1', 'ResizeImage', `/img/${k}.png`, 640), n++;
  for (let k = 1; k <= 6; k++) await client.enqueue('p9', 'MyApp::SendWelcome', k, `user${k}@example.com`), n++;
  await client.enqueue('p10', 'myapp.billing.ChargeCard', 'A-1', 1999), n++;
  await client.enqueue('p10', 'ChargeCard', 'A-2', 500000), n++;
  await client.enqueue('p10', 'NoSuchJob', 1), n++;
  await client.store.enqueue('p9', 'this is not JSON'), n++;
  console.log(`enqueued ${n} jobs (one over the card limit, one of an unknown class, one not even JSON)\n`);
  console.log(formatStatus(await client.status()));

  const processedBefore = (await client.status()).stats.processed;
  const master = spawn(
    process.execPath,
    [bin, 'master', '--queues', 'p10,p9,p1', '--pool', '2', '--jobs', path.join(root, 'examples', 'jobs.js'), '--redis', url, '--namespace', namespace],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise(r => master.on('exit', r));
  process.on('exit', () => master.kill('SIGKILL'));
  for (;;) {
    const s = await client.status();
    const waiting = s.queues.reduce((a, q) => a + q.size, 0);
    if (waiting === 0 && s.stats.processed - processedBefore >= n && s.workers.every(w => !w.job)) break;
    await new Promise(r => setTimeout(r, 100));
  }
  console.log('\nall jobs worked; while the master still runs, `pyres-ts status` shows:\n');
  console.log(formatStatus(await client.status()));
  master.kill('SIGTERM');
  await exited;

  console.log('\nafter the master stopped (TERM):\n');
  const s = await client.status();
  console.log(formatStatus(s));
  for (const raw of await client.store.failedRange(0, 10)) {
    const f = JSON.parse(raw);
    console.log(`  failed: ${f.exception}: ${f.error}`);
  }
  await client.close();

  // The dashboard over the same data (as `pyres-ts web` serves it): resque-web's port if free.
  const admin = new Admin([{ id: 0, label: url.replace(/^redis:\/\//, ''), connection: { url }, namespace }]);
  await admin.connect();
  let web;
  try {
    web = await startWebServer({ dashboard: admin, port: 5678 });
  } catch {
    web = await startWebServer({ dashboard: admin, port: 0 });
  }
  const res = await fetch(`${web.url}/`);
  const page = await res.text();
  if (res.status !== 200 || !page.includes('data-tile="processed"')) throw new Error(`the dashboard answered ${res.status}`);
  const stopAll = async () => {
    await web.close();
    if (server) server.stop();
  };
  if (!keep) {
    console.log(`\ndashboard: ${web.url}/  (answered; run \`npm run demo -- --keep\` to keep it up)`);
    await stopAll();
    console.log('\ndone. Try: npx pyres-ts --help');
    return;
  }
  console.log(`\ndashboard: ${web.url}/  (over the demo's data; Ctrl-C stops it${server ? ' and the throwaway redis-server' : ''})`);
  await new Promise(resolve => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nstopping the dashboard' + (server ? ' and the throwaway redis-server' : ''));
  await stopAll();
  console.log('done.');
}

main().catch(e => {
  console.error(e.message);
  process.exit(1);
});
