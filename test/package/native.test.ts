/**
 * native/install.js, npm's `install` script, and the addon it builds (native/reap.c): built from a
 * copy of the shipped files with npm's node-gyp and this Node's headers; without a toolchain (a
 * PATH that holds only `node`) or with PYRES_TS_SKIP_NATIVE=1 it exits 0 with one line and builds
 * nothing. The built addon reaps exited children except the one it is told to keep, whose
 * status libuv still sees, in either order of exit.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../support/spawn';

jest.setTimeout(120_000);

const SHIPPED = ['binding.gyp', 'reap.c', 'install.js'];
let tmp = '';

/** A copy of native/ as the package ships it (no build/). */
function copyNative(name: string): string {
  const dir = path.join(tmp, name, 'native');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of SHIPPED) fs.copyFileSync(path.join(PROJECT_ROOT, 'native', f), path.join(dir, f));
  return dir;
}

function install(dir: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['install.js'], { cwd: dir, env, encoding: 'utf8', timeout: 100_000 });
}

const addonOf = (dir: string): string => path.join(dir, 'build', 'Release', 'pyres_reap.node');

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-native-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('native/install.js', () => {
  it('without a toolchain (PATH holds only node): exit 0, one line saying so, nothing built', () => {
    const dir = copyNative('bare');
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = install(dir, { HOME: tmp, PATH: bin });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pyres-ts: the native PID 1 reaper was not built \(.+\); .*tini or python3/)]);
    expect(fs.existsSync(addonOf(dir))).toBe(false);
  });

  it('PYRES_TS_SKIP_NATIVE=1: exit 0, one line, nothing built', () => {
    const dir = copyNative('skip');
    const r = install(dir, { ...process.env, PYRES_TS_SKIP_NATIVE: '1' });
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toMatch(/^pyres-ts: the native PID 1 reaper was not built \(PYRES_TS_SKIP_NATIVE is set\)/);
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('with the toolchain: builds pyres_reap.node silently; reapExcept(keep) reaps the others and never keep', () => {
    const dir = copyNative('built');
    const r = install(dir, process.env);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(fs.existsSync(addonOf(dir))).toBe(true);
    // In a process of its own: two children exit while the event loop is blocked (libuv cannot
    // reap them yet); reapExcept(keep) reaps the other one, and keep's exit code still arrives.
    const script = `
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const r = require(${JSON.stringify(addonOf(dir))});
function once(keepFirst) {
  return new Promise(resolve => {
    const a = keepFirst ? null : spawn('sh', ['-c', 'exit 3']);
    const keep = spawn('sh', ['-c', 'exit 7']);
    const b = keepFirst ? spawn('sh', ['-c', 'exit 3']) : a;
    const zombie = p => (fs.readFileSync('/proc/' + p + '/stat', 'utf8').split(') ')[1] || '')[0] === 'Z';
    const deadline = Date.now() + 10000;
    while (!(zombie(keep.pid) && zombie(b.pid)) && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    const reaped = r.reapExcept(keep.pid);
    const otherGone = !fs.existsSync('/proc/' + b.pid);
    const keepStill = zombie(keep.pid);
    let bExit = null;
    b.on('exit', c => (bExit = c));
    // libuv never sees b exit (its status was taken): its handle would hold the loop open.
    b.unref();
    keep.on('exit', code => setImmediate(() => resolve({ reaped, otherGone, keepStill, keepCode: code, bExit })));
  });
}
(async () => {
  let threw = '';
  try { r.reapExcept(0); } catch (e) { threw = e.message; }
  console.log(JSON.stringify({ threw, none: r.reapExcept(process.pid), keepFirst: await once(true), keepLast: await once(false) }));
})();
`;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: out.status, signal: out.signal }).toEqual({ status: 0, signal: null });
    expect(out.stderr).toBe('');
    const res = JSON.parse(out.stdout) as Record<string, unknown>;
    const ok = { reaped: 1, otherGone: true, keepStill: true, keepCode: 7, bExit: null };
    expect(res).toEqual({ threw: expect.stringMatching(/keep must be a pid/), none: 0, keepFirst: ok, keepLast: ok });
  });
});
