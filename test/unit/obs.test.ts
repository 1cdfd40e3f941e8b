/**
 * Units of issue 14's observability: the JSON logger (fields, escaping, levels, a writer that
 * throws), the log ring, the --log-format / --metrics-port validators, the enqueue time of a
 * payload, a ProcessMetrics registry, and ctl watch's frame.
 */
import { formatWatch, type WatchSample } from '../../src/cli/ctlCommand';
import { resolveLogFormat, resolveMetricsListen } from '../../src/config/obs';
import { createLogger } from '../../src/logging/logger';
import { LogRing, withRing } from '../../src/logging/ring';
import type { MasterInfo } from '../../src/master/master';
import { enqueuedAtMs } from '../../src/metrics/dashboard';
import { ProcessMetrics } from '../../src/metrics/processMetrics';
import { sample } from '../obs/helpers';

function jsonLogger(level: 'debug' | 'info' = 'info') {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', level, write: l => lines.push(l) });
  return { log, lines, parsed: () => lines.map(l => JSON.parse(l) as Record<string, unknown>) };
}

describe('the JSON logger', () => {
  it('one object per line: time, level, pid, scope, fields in snake_case, message', () => {
    const { log, lines, parsed } = jsonLogger();
    log.child('host:1:q', { workerId: 'host:1:q' }).child('Job', { jobClass: 'Job', queue: 'q' }).info('done', { durationMs: 12.34567 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [o] = parsed();
    expect(o).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      pid: process.pid,
      scope: 'host:1:q Job',
      worker_id: 'host:1:q',
      job_class: 'Job',
      queue: 'q',
      duration_ms: 12.346,
      message: 'done',
    });
  });

  it('a message with newlines, ESC and U+2028 stays one line and reads back exactly', () => {
    const { log, lines, parsed } = jsonLogger();
    const msg = 'a\nINFO forged\r\x1b[2J\u2028end';
    log.warn(msg);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split('\n')).toHaveLength(1);
    expect(parsed()[0]!['message']).toBe(msg);
    expect(parsed()[0]!['level']).toBe('warn');
  });

  it('levels below the configured one are dropped; debug shows at debug', () => {
    const a = jsonLogger('info');
    a.log.debug('hidden');
    a.log.error('shown');
    expect(a.parsed().map(o => o['message'])).toEqual(['shown']);
    const b = jsonLogger('debug');
    b.log.debug('shown');
    expect(b.parsed().map(o => o['level'])).toEqual(['debug']);
  });

  it('a writer that throws never throws into the caller', () => {
    const log = createLogger({
      format: 'json',
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => log.info('x')).not.toThrow();
  });

  it('the text format ignores the fields: its lines are unchanged', () => {
    const lines: string[] = [];
    createLogger({ write: l => lines.push(l) })
      .child('w', { workerId: 'w' })
      .info('done', { durationMs: 3 });
    expect(lines[0]).toMatch(/^\S+Z INFO {2}\[w\] done$/);
  });
});

describe('the log ring (ctl watch)', () => {
  it('keeps the newest lines, in text form, each bounded, at info and above', () => {
    const ring = new LogRing(3, 60);
    const inner: string[] = [];
    const log = withRing(createLogger({ format: 'json', write: l => inner.push(l) }), ring).child('master h:1');
    log.debug('not kept');
    for (let i = 1; i <= 4; i++) log.info(`line ${i}`);
    log.warn('x'.repeat(100));
    const got = ring.lines();
    expect(got).toHaveLength(3);
    expect(got[0]).toMatch(/^\S+Z INFO {2}\[master h:1\] line 3$/);
    expect(got[2]!.length).toBe(60);
    expect(got[2]!.endsWith('...')).toBe(true);
    // The inner logger got every line it was asked for (its own level decides).
    expect(inner).toHaveLength(5);
  });
});

describe('the --log-format and --metrics-port validators', () => {
  it('--log-format', () => {
    expect(resolveLogFormat(undefined)).toBe('text');
    expect(resolveLogFormat('JSON')).toBe('json');
    expect(() => resolveLogFormat('xml')).toThrow('logFormat (--log-format) must be text or json, got "xml"');
  });

  it('--metrics-port', () => {
    expect(resolveMetricsListen(undefined)).toBeNull();
    expect(resolveMetricsListen('9400')).toEqual({ host: '0.0.0.0', port: 9400 });
    expect(resolveMetricsListen(0)).toEqual({ host: '0.0.0.0', port: 0 });
    expect(resolveMetricsListen('127.0.0.1:9400')).toEqual({ host: '127.0.0.1', port: 9400 });
    expect(resolveMetricsListen('[::1]:9400')).toEqual({ host: '::1', port: 9400 });
    for (const bad of ['70000', 'x', '-1', '1.5', 'host:', ':']) {
      expect(() => resolveMetricsListen(bad)).toThrow(/^metricsPort \(--metrics-port\) must be a TCP port \(0-65535\) or host:port/);
    }
  });
});

describe('enqueuedAtMs (the oldest job age)', () => {
  it("reads pyres' enqueue_timestamp and an enqueued_at; Resque's payloads have none", () => {
    expect(enqueuedAtMs('{"class":"A","args":[],"enqueue_timestamp":1700000000.5}')).toBe(1700000000500);
    expect(enqueuedAtMs('{"class":"A","args":[],"enqueued_at":"2026-01-02T03:04:05Z"}')).toBe(Date.parse('2026-01-02T03:04:05Z'));
    expect(enqueuedAtMs('{"class":"A","args":[],"enqueued_at":1700000000}')).toBe(1700000000000);
    expect(enqueuedAtMs('{"class":"A","args":[]}')).toBeNull();
    expect(enqueuedAtMs('not json')).toBeNull();
    expect(enqueuedAtMs('[1]')).toBeNull();
    expect(enqueuedAtMs('{"enqueue_timestamp":"soon"}')).toBeNull();
  });
});

describe('ProcessMetrics', () => {
  it('counts jobs by outcome, observes durations, reads its gauges at scrape time', async () => {
    let busy = 0;
    const m = new ProcessMetrics({ slots: () => 4, busySlots: () => busy, children: () => ({ ready: 3, starting: 1 }) }, { defaultMetrics: false });
    m.jobDone('A', 'q', 'success', 0.2);
    m.jobDone('A', 'q', 'success', 0.3);
    m.jobDone('A', 'q', 'dirty_exit', null);
    m.redisError();
    busy = 2;
    const t = await m.text();
    expect(sample(t, 'pyres_jobs_total', { job_class: 'A', queue: 'q', outcome: 'success' })).toBe(2);
    expect(sample(t, 'pyres_jobs_total', { job_class: 'A', queue: 'q', outcome: 'dirty_exit' })).toBe(1);
    expect(sample(t, 'pyres_job_duration_seconds_count', { job_class: 'A', queue: 'q' })).toBe(2);
    expect(sample(t, 'pyres_job_duration_seconds_sum', { job_class: 'A', queue: 'q' })).toBeCloseTo(0.5);
    expect(sample(t, 'pyres_redis_errors_total')).toBe(1);
    expect(sample(t, 'pyres_slots')).toBe(4);
    expect(sample(t, 'pyres_slots_busy')).toBe(2);
    expect(sample(t, 'pyres_children', { state: 'ready' })).toBe(3);
    expect(sample(t, 'pyres_children', { state: 'starting' })).toBe(1);
  });
});

describe("ctl watch's frame", () => {
  const info = (children: MasterInfo['children'], logTail?: string[]): MasterInfo => ({
    id: 'h:1',
    host: 'h',
    pid: 1,
    version: '0.1.0',
    startedAt: new Date(0).toISOString(),
    paused: false,
    stopping: false,
    groups: [{ queues: 'q', desired: 2, min: null, max: null, running: children.length }],
    children,
    autoscale: null,
    ...(logTail ? { logTail } : {}),
  });
  const child = (pid: number): MasterInfo['children'][number] => ({
    pid,
    workerId: `h:${pid}:q`,
    group: 'q',
    startedAt: new Date(0).toISOString(),
    rssMb: 1,
    job: null,
  });

  it('depth and jobs/s per group (from the children processed counts), and the last lines of the log tail', () => {
    const m = info([child(2), child(3)], ['l1', 'l2', 'l3']);
    const s0: WatchSample = {
      at: 10_000,
      depth: new Map([['h:1 q', 5]]),
      processed: new Map([
        ['h:2:q', 10],
        ['h:3:q', 0],
      ]),
    };
    const s1: WatchSample = {
      at: 12_000,
      depth: new Map([['h:1 q', 1]]),
      processed: new Map([
        ['h:2:q', 13],
        ['h:3:q', 3],
      ]),
    };
    expect(formatWatch(m, s0, null, 2)).toMatch(/^ {3}group q: depth 5 {2}jobs\/s - {2}children 2\/2\n {3}log:\n {5}l2\n {5}l3$/m);
    expect(formatWatch(m, s1, s0, 0)).toMatch(/group q: depth 1 {2}jobs\/s 3\.0 {2}children 2\/2$/);
    // A child that was replaced (its count is new) adds nothing, never a negative rate.
    const s2: WatchSample = {
      at: 13_000,
      depth: new Map([['h:1 q', 0]]),
      processed: new Map([
        ['h:2:q', 13],
        ['h:3:q', 0],
      ]),
    };
    expect(formatWatch(m, s2, s1, 0)).toMatch(/jobs\/s 0\.0 /);
  });
});
