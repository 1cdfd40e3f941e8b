'use strict';
// Status jobs for the enqueue-and-wait row of `npm run bench` (loaded with a second `--jobs`
// beside bench/jobs.js; needs `npm run build`, as it wraps with dist's defineStatusJob).
const path = require('node:path');
const { defineStatusJob } = require(path.join(__dirname, '..', 'dist', 'index.js'));

/** Returns its option `i` at once: the result `enqueueAndWait` resolves to. */
exports.Echo = defineStatusJob({ perform: o => o.i });
