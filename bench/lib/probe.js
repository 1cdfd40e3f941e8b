'use strict';
// Loaded with NODE_OPTIONS=--require <this file> into worker processes for the round-trip
// scenario. Counts socket writes to the Redis port (BENCH_PROBE_PORT): ioredis writes one
// command per write, and a pipeline or MULTI block in one write, so writes = requests, an
// upper bound on round trips (two requests sent back to back without waiting count twice).
// Each write's time (process.hrtime in microseconds, CLOCK_MONOTONIC, comparable across
// processes) is kept and dumped at exit to BENCH_PROBE_DIR/<pid>.json.
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');

const port = Number(process.env.BENCH_PROBE_PORT);
const dir = process.env.BENCH_PROBE_DIR;
if (port && dir) {
  const times = [];
  const FLAG = Symbol('benchProbeIsRedis');
  const orig = net.Socket.prototype.write;
  net.Socket.prototype.write = function probedWrite(...args) {
    let isRedis = this[FLAG];
    if (isRedis === undefined) {
      isRedis = this.remotePort === port;
      if (this.remotePort !== undefined) this[FLAG] = isRedis;
    }
    if (isRedis) times.push(Number(process.hrtime.bigint() / 1000n));
    return orig.apply(this, args);
  };
  process.on('exit', () => {
    try {
      fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(times));
    } catch {
      /* nothing to do at exit */
    }
  });
}
