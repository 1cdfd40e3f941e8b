/**
 * The dashboard as the README's locked-down `pyres-web` ACL user: with exactly the commands the
 * README lists, it writes its history and does every queue action (clear, remove, delete one
 * job), on a real redis-server whose default user is off.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { type WebServer, startWebServer } from '../../src/web/server';
import { RedisProc } from '../faults/redisProc';
import { Session, flashOf } from './helpers';

const ROOT_PW = 'root-pw';
let srv: RedisProc;
let root: Redis;
let web: WebServer;

function readmeWebAcl(): { line: string; password: string } {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const sec = /^## Redis ACL\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const line = sec.split('\n').find(l => l.startsWith('ACL SETUSER pyres-web '));
  if (!line) throw new Error('README.md has no `ACL SETUSER pyres-web` line in "Redis ACL"');
  return { line, password: (line.split(/\s+/).find(t => t.startsWith('>')) as string).slice(1) };
}

beforeAll(async () => {
  srv = await RedisProc.start({ extraArgs: ['--user', 'root', 'on', `>${ROOT_PW}`, '~*', '&*', '+@all', '--user', 'default', 'off'] });
  root = new Redis({ port: srv.port, host: '127.0.0.1', username: 'root', password: ROOT_PW, maxRetriesPerRequest: 3 });
  const acl = readmeWebAcl();
  expect(await root.call(...(acl.line.split(/\s+/) as [string, ...string[]]))).toBe('OK');
  await root
    .pipeline()
    .sadd('resque:queues', 'a', 'b')
    .rpush('resque:queue:a', '{"class":"A","args":[1]}', '{"class":"A","args":[2]}')
    .rpush('resque:queue:b', '{"class":"B","args":[]}')
    .exec();
  const dashboard = new Dashboard(parseDsnList(`redis://pyres-web:${acl.password}@127.0.0.1:${srv.port}`, { namespace: 'resque' }));
  await dashboard.connect();
  web = await startWebServer({ dashboard, port: 0 });
}, 30_000);

afterAll(async () => {
  await web?.close();
  root?.disconnect();
  await srv?.stop();
});

it('writes the processed/failed history', async () => {
  for (const deadline = Date.now() + 10_000; (await root.llen('resque:pyres-ts:stats:history')) === 0; ) {
    if (Date.now() > deadline) throw new Error('no history sample in 10 s (NOPERM?)');
    await new Promise(r => setTimeout(r, 50));
  }
  expect(await root.pttl('resque:pyres-ts:stats:history:guard')).toBeGreaterThan(0);
});

it('deletes one job, clears a queue and removes a queue', async () => {
  const s = new Session(web.url);
  await s.get('/queues/a');
  const raw = '{"class":"A","args":[2]}';
  const digest = createHash('sha1').update(raw).digest('hex');
  let r = await s.act('/queues/delete-job', { server: 0, queue: 'a', index: 1, digest, confirmed: 'yes', back: '/queues/a' });
  expect(flashOf(r.text)).toMatch(/^ok: Deleted job 1 \(A\) from a/);
  r = await s.act('/queues/clear', { server: 0, queue: 'a', confirmed: 'yes', back: '/queues/a' });
  expect(flashOf(r.text)).toMatch(/^ok: Cleared a on .*: 1 job deleted\.$/);
  r = await s.act('/queues/remove', { server: 0, queue: 'b', confirmed: 'yes', back: '/queues' });
  expect(flashOf(r.text)).toMatch(/^ok: Removed the queue b from .* \(1 job deleted\)\.$/);
  expect(await root.smembers('resque:queues')).toEqual(['a']);
});
