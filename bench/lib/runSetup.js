'use strict';
// What every bench entry does first: a temporary directory for its processes' files, the reaper,
// and cleanup on exit and on SIGINT/SIGTERM/SIGHUP (every process it started is killed, the
// directory removed unless BENCH_KEEP_TMP is set).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const procs = require('./procs');
const S = require('./systems');

/** Sets up a bench run; returns its temporary directory. */
function setupRun() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-ts-bench-'));
  S.setTmpRoot(tmp);
  let cleaned = false;
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    procs.killAllSync();
    procs.closeReaper();
    if (!process.env.BENCH_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping every process it started\n`);
      cleanupSync();
      process.exit(130);
    });
  }
  procs.startReaper();
  return tmp;
}

module.exports = { setupRun };
