/**
 * A job name from a payload is never imported: a queue item naming a module path, a package,
 * a file: or data: URL, or an object-prototype key ends as an UnknownJobClassError failure, and
 * the module it names is never loaded (a module that would leave a marker file on load stays
 * unloaded).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Redis from 'ioredis';
import { RedisProc } from '../faults/redisProc';
import { CHAOS_JOBS, checkFailure, client, faultEnv, k } from '../faults/helpers';
import { PROJECT_ROOT as PROJECT } from '../support/spawn';

const env = faultEnv();
let srv: RedisProc;
let r: Redis;

beforeAll(async () => {
  srv = await RedisProc.start();
  r = client(srv.url);
});
afterAll(() => r?.disconnect());

describe('class names from payloads', () => {
  it('are only looked up in the registry: nothing named by a payload is ever loaded', async () => {
    const marker = path.join(env.tmp, 'IMPORTED');
    const evil = path.join(env.tmp, 'evil.js');
    fs.writeFileSync(evil, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'evil.js was loaded'); exports.Evil = { perform() {} };\n`);
    const evilMjs = path.join(env.tmp, 'evil.mjs');
    fs.writeFileSync(
      evilMjs,
      `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'evil.mjs was loaded'); export const Evil = { perform() {} };\n`,
    );
    const relFromProject = path.relative(PROJECT, evil);
    const names = [
      evil,
      evilMjs,
      `./${relFromProject}`,
      relFromProject.replace(/\.js$/, ''),
      `file://${evil}`,
      `data:text/javascript,require('fs').writeFileSync(${JSON.stringify(marker)},'data')`,
      'child_process',
      'node:child_process',
      'fs',
      '../../fixtures/jobs/basic.js',
      'fixtures/jobs/basic',
      `${evil}::Evil`,
      `${evil.replace(/\.js$/, '').split(path.sep).join('.')}.Evil`,
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'Record.constructor',
      'Record::__proto__',
      'Evil',
    ];
    const p = r.pipeline().sadd(k('queues'), 'q');
    for (const n of names) p.rpush(k('queue:q'), JSON.stringify({ class: n, args: ['x'] }));
    await p.exec();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--drain'], srv.url);
    expect(await w.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(marker)).toBe(false);
    const failed = await r.lrange(k('failed'), 0, -1);
    expect(failed).toHaveLength(names.length);
    const seen = failed.map(f => {
      const rec = checkFailure(f);
      expect(rec['exception']).toBe('UnknownJobClassError');
      return (rec['payload'] as { class: string }).class;
    });
    expect(seen.sort()).toEqual([...names].sort());
    expect(env.ledgerLines()).toEqual([]); // no registered job ran either
    expect(await r.get(k('stat:processed'))).toBe(String(names.length));
  });
});

describe('only declared jobs run', () => {
  it("a job module's exported helper function is not a job: a payload naming it fails, the helper never runs, the start log names it", async () => {
    await r.flushdb();
    const marker = path.join(env.tmp, 'HELPER-RAN');
    const mod = path.join(env.tmp, 'declared.js');
    fs.writeFileSync(
      mod,
      `const { defineJob } = require(${JSON.stringify(path.join(PROJECT, 'dist', 'index.js'))});
const fs = require('node:fs');
exports.helperNotAJob = () => fs.writeFileSync(${JSON.stringify(marker)}, 'ran');
exports.Declared = defineJob(tag => fs.appendFileSync(${JSON.stringify(env.ledger)}, 'declared ' + tag + '\\n'));
exports.Legacy = { perform(tag) { fs.appendFileSync(${JSON.stringify(env.ledger)}, 'legacy ' + tag + '\\n'); } };
`,
    );
    await r
      .pipeline()
      .sadd(k('queues'), 'q')
      .rpush(k('queue:q'), '{"class":"helperNotAJob","args":["x"]}', '{"class":"Declared","args":["a"]}', '{"class":"Legacy","args":["b"]}')
      .exec();
    const w = env.cli(['worker', '--queues', 'q', '--jobs', mod, '--drain'], srv.url);
    expect(await w.waitForEnd(20000)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(marker)).toBe(false);
    expect(env.ledgerLines()).toEqual(['declared a', 'legacy b']);
    const failed = await r.lrange(k('failed'), 0, -1);
    expect(failed.map(f => [checkFailure(f)['exception'], (checkFailure(f)['payload'] as { class: string }).class])).toEqual([
      ['UnknownJobClassError', 'helperNotAJob'],
    ]);
    expect(w.lines().some(l => /helperNotAJob is a plain function, not a job \(declare a job with defineJob\(\)/.test(l))).toBe(true);
  });
});
