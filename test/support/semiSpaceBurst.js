'use strict';
// Process-test helper for the young-generation cap (src/cli/semiSpace.ts, built in dist/): 60
// turns of the event loop, each starting 20 "jobs" that allocate ~600 KB apiece which outlive a
// minor GC, the way a loaded machine's worker starts a burst of jobs in one turn. Prints the
// largest new space seen, in bytes. `watch`: the cap also sees each job's start (watchJobs, as
// the worker's 'job' event gives it); `gc-only`: only its gc entries, which arrive turns late.
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { capSemiSpace, newSpaceBytes } = require(path.join(__dirname, '..', '..', 'dist', 'cli', 'semiSpace.js'));

const watch = process.argv[2] === 'watch';
const cap = capSemiSpace(8);
const jobs = new EventEmitter();
if (watch) cap.watchJobs(jobs);
const keep = [];
let max = 0;
let turns = 0;
function turn() {
  for (let j = 0; j < 20; j++) {
    jobs.emit('job');
    const a = [];
    for (let i = 0; i < 10000; i++) a.push({ i, s: `x${i}` });
    keep.push(a);
    if (keep.length > 40) keep.shift();
  }
  max = Math.max(max, newSpaceBytes());
  if (++turns < 60) setTimeout(turn, 1);
  else {
    cap.close();
    process.stdout.write(`${max}\n`);
  }
}
turn();
