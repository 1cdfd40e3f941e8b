'use strict';

const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Monotonic clock in nanoseconds (CLOCK_MONOTONIC: comparable across processes on one host). */
const hrNs = () => process.hrtime.bigint();
const hrUs = () => Number(process.hrtime.bigint() / 1000n);

function median(xs) {
  const a = xs.filter(x => Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** Nearest-rank percentile, p in 0..100. */
function percentile(xs, p) {
  const a = xs.filter(x => Number.isFinite(x)).sort((u, v) => u - v);
  if (a.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * a.length));
  return a[Math.min(a.length, rank) - 1];
}

const uniform = (lo, hi) => lo + Math.random() * (hi - lo);

/** 12345 -> "12,345"; 0.1234 -> "0.123"; keeps 3 significant digits below 100. */
function fmt(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  const ax = Math.abs(x);
  if (ax >= 100) return Math.round(x).toLocaleString('en-US');
  if (ax === 0) return '0';
  return Number(x.toPrecision(digits)).toString();
}

function fmtRatio(x) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 10) return `${x.toFixed(1)}×`;
  if (x >= 0.01) return `${x.toFixed(2)}×`;
  return `${x.toPrecision(2)}×`;
}

/** Polls `fn` every `every` ms until it returns a truthy value; throws after `ms`, or at once when `check()` throws. */
async function waitFor(fn, { ms = 30000, every = 5, what = 'condition', check = () => undefined } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    check();
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await sleep(every);
  }
}

module.exports = { sleep, hrNs, hrUs, median, percentile, uniform, fmt, fmtRatio, waitFor };
