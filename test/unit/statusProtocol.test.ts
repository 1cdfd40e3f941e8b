/**
 * Golden tests of the pure resque-status and resque-retry codecs against the Ruby captures
 * (fixtures/plugins t1, t2, r1-r3; PROTOCOL-plugins.md §2, §3).
 */
process.env.TZ = 'UTC';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResqueKeys } from '../../src/protocol/keys';
import { backoffDelay, encodeSuppressedFailure, failureRetryKey, retryIdentifier, retryKey, suppressionTtl } from '../../src/protocol/retry';
import { rubyFloatToS, rubyInspect, rubyJoin } from '../../src/protocol/rubyText';
import {
  completedMessage,
  decodeDoneNotice,
  decodeStatus,
  encodeDoneNotice,
  encodeQueuedStatus,
  failedMessage,
  isStatusUuid,
  killedMessage,
  newStatusUuid,
  statusJobPayload,
  statusKeys,
  statusName,
} from '../../src/protocol/status';

const FIX = join(__dirname, '..', '..', 'fixtures', 'plugins');
type Dump = { keys: Record<string, { type: string; ttl: number; value: unknown }> };
const dump = (dir: string, file: string): Dump['keys'] => (JSON.parse(readFileSync(join(FIX, dir, file), 'utf8')) as Dump).keys;
const T1_QUEUED = dump('t1-status-lifecycle', 'keys-queued.json');
const T1_AFTER = dump('t1-status-lifecycle', 'keys-after-jobs.json');
const T1_MONITOR = readFileSync(join(FIX, 't1-status-lifecycle', 'monitor.log'), 'utf8');
const u1 = 'aad1f914c5faa4118f38f8b58466998f';
const u3 = 'abe43350d724afe619d00b454bde56a8';

describe('resque-status codec (t1, t2)', () => {
  it('writes the queued status byte for byte as create does', () => {
    expect(encodeQueuedStatus(1796104386, u1, { total: 3, sleep: 0.4 })).toBe(T1_QUEUED[`resque:status:${u1}`]!.value);
    expect(encodeQueuedStatus(1796104386, u3, {})).toBe(T1_QUEUED[`resque:status:${u3}`]!.value);
    // pyres-ts's opt-in extra field comes after options; Ruby readers ignore it.
    expect(encodeQueuedStatus(1, u1, {}, { keep_result: true })).toBe(`{"time":1,"status":"queued","uuid":"${u1}","options":{},"keep_result":true}`);
  });

  it('makes the payload Resque pushes: args [uuid, options]', () => {
    expect(T1_MONITOR).toContain(JSON.stringify(statusJobPayload('StatusJob', u1, { total: 3, sleep: 0.4 })).slice(1, -1));
    expect(statusJobPayload('StatusKillJob', u3, {})).toBe(`{"class":"StatusKillJob","args":["${u3}",{}]}`);
  });

  it('names a job as Ruby inspects its options', () => {
    const completed = JSON.parse(T1_AFTER[`resque:status:${u1}`]!.value as string) as { name: string };
    expect(statusName('StatusJob', { total: 3, sleep: 0.4 })).toBe(completed.name);
    expect(statusName('StatusKillJob', {})).toBe('StatusKillJob()');
    expect(statusName('StatusPlainJob', { sym: 1 })).toBe('StatusPlainJob({"sym"=>1})');
    expect(statusName('J', { a: [1, 2.5, null, true], b: { c: 'x"y' } })).toBe('J({"a"=>[1, 2.5, nil, true], "b"=>{"c"=>"x\\"y"}})');
  });

  it('words the messages as resque-status does', () => {
    const at = new Date('2026-12-01T05:53:09Z');
    const killed = JSON.parse(T1_AFTER[`resque:status:${u3}`]!.value as string) as { message: string };
    expect(killedMessage(at)).toBe(killed.message);
    expect(completedMessage(at)).toBe('Completed at 2026-12-01 05:53:09 +0000');
    expect(failedMessage('status boom')).toBe('The task failed because of an error: status boom');
  });

  it('keys: status:<uuid>, _statuses, _kill, and the done list', () => {
    const k = statusKeys(new ResqueKeys('resque'));
    expect([k.status(u1), k.statuses, k.kill, k.done(u1)]).toEqual([`resque:status:${u1}`, 'resque:_statuses', 'resque:_kill', `resque:pyres-ts:done:${u1}`]);
    expect(Object.keys(T1_QUEUED)).toEqual(expect.arrayContaining(['resque:_statuses', `resque:status:${u1}`]));
  });

  it('makes uuids as SecureRandom.hex', () => {
    const u = newStatusUuid();
    expect(u).toMatch(/^[0-9a-f]{32}$/);
    expect(newStatusUuid()).not.toBe(u);
    for (const id of Object.keys(T1_AFTER).filter(x => x.startsWith('resque:status:'))) expect(isStatusUuid(id.slice(14))).toBe(true);
    expect(isStatusUuid('AAD1F914C5FAA4118F38F8B58466998F')).toBe(false);
  });

  it('decodes every captured status, pct_complete as the web computes it', () => {
    const pct = (u: string): number => decodeStatus(u, T1_AFTER[`resque:status:${u}`]!.value as string).pct;
    expect(pct(u1)).toBe(100);
    expect(pct('0cd35c941e08c3121ff364d17371bbda')).toBe(50);
    expect(pct(u3)).toBe(0);
    expect(pct('e4864f0ab9f9ebc5b97a861d431c021a')).toBe(0);
    const t2 = dump('t2-status-expire-and-scheduled', 'keys.json');
    const st = decodeStatus('e822901b98ccb3f94926c5d18e73c10d', t2['resque:status:e822901b98ccb3f94926c5d18e73c10d']!.value as string);
    expect(st).toMatchObject({ state: 'completed', time: 1796104405, num: 1, total: 1, message: 'all done', problem: null });
    expect(t2['resque:status:e822901b98ccb3f94926c5d18e73c10d']!.ttl).toBeGreaterThan(0);
    expect(t2['resque:_statuses']!.ttl).toBe(-1);
  });

  it('never throws on a hostile value', () => {
    expect(decodeStatus(u1, 'nope').problem).toBe('not JSON');
    expect(decodeStatus(u1, '[1]').problem).toBe('not a JSON object');
    expect(decodeStatus(u1, '{"time":"2026-12-01T00:00:00Z"}').problem).toMatch(/time/);
    expect(decodeStatus(u1, '{"status":"weird","__proto__":{"x":1}}')).toMatchObject({ state: null, problem: null });
  });

  it('round-trips the done notice', () => {
    const t = encodeDoneNotice({ status: 'failed', exception: 'ArgumentError', error: 'status boom' });
    expect(t).toBe('{"status":"failed","exception":"ArgumentError","error":"status boom"}');
    expect(decodeDoneNotice(t)).toEqual({ status: 'failed', exception: 'ArgumentError', error: 'status boom' });
    expect(decodeDoneNotice('{"status":"working"}')).toBeNull();
    expect(decodeDoneNotice('x')).toBeNull();
  });
});

describe('Ruby text forms', () => {
  it('Float#to_s', () => {
    expect([2, 0.4, 1e20, 1e-5, 123456.5, 1e16, 1e15].map(rubyFloatToS)).toEqual([
      '2.0',
      '0.4',
      '1.0e+20',
      '1.0e-05',
      '123456.5',
      '1.0e+16',
      '1000000000000000.0',
    ]);
  });
  it('inspect and join', () => {
    expect(rubyInspect({ k: [1, 2] })).toBe('{"k"=>[1, 2]}');
    expect(rubyJoin(['b', { k: [1, 2] }], '-')).toBe('b-{"k"=>[1, 2]}');
    expect(rubyJoin([1, 'two', null, ['a', [2]]], '-')).toBe('1-two--a-2');
    expect(rubyInspect('a#{b}\n')).toBe('"a\\#{b}\\n"');
  });
});

describe('resque-retry codec (r1, r2, r3)', () => {
  const keysIn = (dir: string): string[] => {
    const log = readFileSync(join(FIX, dir, 'monitor.log'), 'utf8');
    return [...new Set([...log.matchAll(/"resque:((?:failure-)?resque-retry:[^"]+)"/g)].map(m => m[1]!))].sort();
  };

  it('builds the retry keys the Ruby workers used', () => {
    expect(keysIn('r1-retry-fixed-delay-suppression')).toEqual(
      [
        failureRetryKey('RetryFixedJob', [1, 'two']),
        failureRetryKey('RetryFlakyJob', ['f']),
        retryKey('RetryFixedJob', [1, 'two']),
        retryKey('RetryFlakyJob', ['f']),
      ].sort(),
    );
    expect(retryKey('RetryFixedJob', [1, 'two'])).toBe('resque-retry:RetryFixedJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b');
    expect(keysIn('r2-retry-exponential-backoff')).toEqual(
      [failureRetryKey('RetryBackoffJob', ['b', { k: [1, 2] }]), retryKey('RetryBackoffJob', ['b', { k: [1, 2] }])].sort(),
    );
    expect(keysIn('r3-retry-default-failure-backend')).toContain(retryKey('RetryFixedJob', ['nosup']));
  });

  it('no args: no identifier; whitespace removed; a custom identifier', () => {
    expect(retryIdentifier([])).toBeNull();
    expect(retryKey('NoArgs', [])).toBe('resque-retry:NoArgs');
    expect(retryKey('A B', [], 'x y')).toBe('resque-retry:AB:xy');
  });

  it('writes the suppression record as MultipleWithRetrySuppression does (r1)', () => {
    const log = readFileSync(join(FIX, 'r1-retry-fixed-delay-suppression', 'monitor.log'), 'utf8');
    const m = /"setex" "resque:failure-resque-retry:RetryFixedJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b" "4" "((?:[^"\\]|\\.)*)"/.exec(log)!;
    const stored = JSON.parse(`"${m[1]}"`) as string;
    const rec = JSON.parse(stored) as { backtrace: string[]; worker: string; queue: string; error: string; exception: string };
    const text = encodeSuppressedFailure({
      failedAt: new Date('2026-12-01T05:53:48Z'),
      payloadJson: '{"class":"RetryFixedJob","args":[1,"two"]}',
      exception: rec.exception,
      error: rec.error,
      backtrace: rec.backtrace,
      worker: rec.worker,
      queue: rec.queue,
    });
    expect(text).toBe(stored);
    expect(suppressionTtl(2)).toBe(4);
    expect(suppressionTtl(0)).toBeNull();
  });

  it('backoff delays as ExponentialBackoff picks them (r2: 0, 2, 3)', () => {
    expect([0, 1, 2, 3].map(a => backoffDelay([0, 2, 3], a))).toEqual([0, 2, 3, 3]);
    expect(backoffDelay([10], 0, 1.5)).toBe(15);
  });
});
