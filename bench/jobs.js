'use strict';
// Jobs for `npm run bench`, loaded by both pyres-ts (--jobs bench/jobs.js) and the
// node-resque runner (bench/node-resque-worker.js), so both run the very same functions.

/** The no-op job every throughput scenario pushes: {"class":"Noop","args":[]}. */
exports.Noop = {
  perform() {},
};

/**
 * Pickup-latency probe: args = [t0] where t0 is process.hrtime.bigint() (CLOCK_MONOTONIC, shared
 * by every process on the host) taken by the bench just before it pushed the job. Writes
 * `STAMP <t0> <now>` to stdout, which the bench reads from the worker's stdout pipe.
 */
exports.Stamp = {
  perform(t0) {
    const now = process.hrtime.bigint();
    process.stdout.write(`STAMP ${t0} ${now}\n`);
  },
};

/** 20 ms of asynchronous waiting (a typical I/O-bound job): no CPU, one timer. */
exports.Sleep20 = {
  perform() {
    return new Promise(resolve => setTimeout(resolve, 20));
  },
};

/** Returns its argument: the result BullMQ's `job.waitUntilFinished` resolves to (enqueue-and-wait row). */
exports.EchoArg = {
  perform(x) {
    return x;
  },
};

/**
 * Delayed-pickup probe: args = [tag]. Writes `WALL <tag> <Date.now()>` to stdout (wall clock, the
 * clock Redis TIME and delayed timestamps use); the bench subtracts the item's due second.
 */
exports.WallStamp = {
  perform(tag) {
    process.stdout.write(`WALL ${tag} ${Date.now()}\n`);
  },
};
