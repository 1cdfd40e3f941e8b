'use strict';
/**
 * npm's `install` script: builds native/build/Release/pyres_reap.node, the addon with which
 * `pyres-ts master|worker|scheduler` reaps orphaned processes as PID 1 of a container
 * (src/cli/containerInit.ts). It never fails the install: without a compiler, python3, make or
 * Node's headers it says so in one line and pyres-ts falls back to tini or python3 at run time.
 *
 * node-gyp is npm's own (npm's run-script puts it on PATH and sets npm_config_node_gyp); Node's
 * headers are the local ones when the Node installation has them (include/node), else node-gyp
 * downloads them. PYRES_TS_SKIP_NATIVE=1 skips the build.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.join(__dirname, 'build', 'Release', 'pyres_reap.node');

function notice(why) {
  process.stderr.write(`pyres-ts: the native PID 1 reaper was not built (${why}); as a container's PID 1 pyres-ts uses tini or python3 instead (README "Operations")\n`);
}

/** npm's node-gyp: the one npm names, else the one beside this node's npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not installed as a package */
  }
  return candidates.find(f => f && fs.existsSync(f)) ?? null;
}

/** The Node installation's own headers (a prefix holding include/node/node_api.h), or null. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

/** The first line of node-gyp's output that says what went wrong. */
function reason(out) {
  if (/gyp ERR! find Python/.test(out)) return 'node-gyp found no python3';
  const lines = out.split('\n').map(l => l.trim());
  const l = lines.find(x => /gyp ERR! (stack )?(Error|find Python)|not found|No such file|error:/i.test(x)) ?? lines.find(x => /gyp ERR!/.test(x));
  return (l ?? 'node-gyp failed').replace(/^gyp ERR! (stack )?/, '').slice(0, 160);
}

function main() {
  if (process.platform !== 'linux') return; // the reaper is for Linux containers only
  if (/^(1|true|yes)$/i.test(process.env.PYRES_TS_SKIP_NATIVE ?? '')) return notice('PYRES_TS_SKIP_NATIVE is set');
  const gyp = nodeGyp();
  if (!gyp) return notice('node-gyp not found');
  const nodedir = localNodeDir();
  const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  if (r.error) return notice(r.error.message);
  if (r.status !== 0 || !fs.existsSync(OUT)) return notice(reason(`${r.stderr ?? ''}\n${r.stdout ?? ''}`));
  // Loads in this very node: a build for another ABI or a broken one is not kept.
  try {
    if (typeof require(OUT).reapExcept !== 'function') throw new Error('no reapExcept');
  } catch (e) {
    fs.rmSync(OUT, { force: true });
    return notice(`the built addon does not load: ${e.message}`);
  }
}

try {
  main();
} catch (e) {
  notice(e && e.message ? e.message : String(e));
}
process.exitCode = 0;
