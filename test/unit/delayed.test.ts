/**
 * The delayed-job codec against resque-scheduler 5's captured bytes (fixtures/plugins, s1, s2,
 * s5): item bytes, key names, flooring, and the lock scripts' text (its SHA is Ruby's).
 */
import { createHash } from 'node:crypto';
import {
  DelayedKeys,
  argsTextOf,
  decodeDelayedItem,
  encodeDelayedItem,
  encodeDelayedItemText,
  flooredTimestamp,
  parseParkedPoison,
  timestampOfMember,
} from '../../src/protocol/delayed';
import { lockAcquireLua, lockRenewLua } from '../../src/store/schedulerScripts';
import { loadMonitorLog, phase } from '../support/monitorLog';
import { list, loadKeys, members } from './fixtureData';

const S1 = loadMonitorLog('plugins/s1-delayed-api/monitor.log');
const S1_KEYS = loadKeys('plugins/s1-delayed-api/keys-after-enqueue.json');
const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

describe('delayed item bytes (s1)', () => {
  const rpushed = phase(S1, '1-enqueue_at')
    .filter(c => c.args[0] === 'rpush' && c.args[1]!.startsWith('resque:delayed:'))
    .map(c => c.args[2]);

  it('reads the capture (a parser that found nothing would pass)', () => {
    expect(rpushed).toHaveLength(7);
  });

  it('encodes each captured item byte for byte, key order class, args, queue', () => {
    const ours = [
      encodeDelayedItem('MixedJob', [1, 'two', { three: 3 }], 'p10'),
      encodeDelayedItem('MixedJob', [1, 'two', { three: 3 }], 'p10'),
      encodeDelayedItem('MixedJob', [1, 'two', { three: 3 }], 'p10'),
      encodeDelayedItem('OtherJob', ['x'], 'p9'),
      encodeDelayedItem('MixedJob', ['q8'], 'p8'),
      encodeDelayedItem('OtherJob', [], 'p9'),
      // Ruby's 1.0 and 2**64 only survive as JSON text.
      encodeDelayedItemText('OtherJob', argsTextOf('[1.0, 18446744073709551616]'), 'p7'),
    ];
    expect(ours).toEqual(rpushed);
  });

  it('the timestamps: key embeds the same bytes; its member has no namespace', () => {
    const k = new DelayedKeys('resque');
    const item = encodeDelayedItem('OtherJob', ['x'], 'p9');
    expect(members(S1_KEYS, k.timestamps(item))).toEqual(['delayed:1796107900']);
    expect(list(S1_KEYS, k.list(1796107900))).toContain(item);
    expect(k.schedule).toBe('resque:delayed_queue_schedule');
  });

  it('refuses what Ruby could not have written', () => {
    expect(() => encodeDelayedItem('', [], 'q')).toThrow(/class/);
    expect(() => encodeDelayedItem('A', [], '')).toThrow(/queue/);
    expect(() => encodeDelayedItem('A', [1n], 'q')).toThrow(/BigInt/);
    expect(() => argsTextOf('{"a":1}')).toThrow(/array/);
  });
});

describe('timestamps', () => {
  it('floors like Time#to_i (T + 0.9 is T), for Dates and epoch seconds', () => {
    expect(flooredTimestamp(1796107900.9)).toBe(1796107900);
    expect(flooredTimestamp(new Date(1796107900_900))).toBe(1796107900);
    expect(flooredTimestamp(new Date(-1500))).toBe(-2);
  });
  it('refuses milliseconds, NaN and invalid Dates with a clear message', () => {
    expect(() => flooredTimestamp(1796107900_000)).toThrow(/milliseconds/);
    expect(() => flooredTimestamp(Number.NaN)).toThrow(/epoch seconds/);
    expect(() => flooredTimestamp(new Date('nope'))).toThrow(/invalid Date/);
  });
  it("reads a timestamps: member as Ruby's tr('delay:', '') does", () => {
    expect(timestampOfMember('delayed:1796107900')).toBe(1796107900);
    expect(timestampOfMember('delayed:soon')).toBeNull();
  });
});

describe('the master lock (s2, s5)', () => {
  const s2 = loadMonitorLog('plugins/s2-scheduler-moves-due/monitor.log');
  const s5 = loadMonitorLog('plugins/s5-two-schedulers-lock-failover/monitor.log');
  const loaded = [...s2, ...s5].filter(c => c.args[0] === 'script' && c.args[1] === 'load').map(c => c.args[2]);

  it("has Ruby's key, with the namespace twice, and the prefix form", () => {
    const k = new DelayedKeys('resque');
    expect(k.masterLock()).toBe('resque:resque:resque_scheduler_master_lock');
    expect(k.masterLock('app1')).toBe(Object.keys(loadKeys('plugins/s5-two-schedulers-lock-failover/keys-with-prefix.json')).find(x => x.includes('lock')));
    expect(s2.some(c => c.args[0] === 'evalsha' && c.args[3] === k.masterLock())).toBe(true);
  });

  it("sends Ruby's exact Lua text (so the SHA is Ruby's) for 180 s and 6 s", () => {
    expect(loaded.length).toBeGreaterThanOrEqual(4);
    expect(new Set(loaded)).toEqual(new Set([lockAcquireLua(180), lockRenewLua(180), lockAcquireLua(6), lockRenewLua(6)]));
    const evalshas = new Set([...s2, ...s5].filter(c => c.args[0] === 'evalsha').map(c => c.args[1]));
    for (const t of [180, 6]) {
      expect(evalshas).toContain(sha1(lockAcquireLua(t)));
      expect(evalshas).toContain(sha1(lockRenewLua(t)));
    }
    expect(sha1(lockAcquireLua(180))).toBe('8f4a4e422bfa8f9a0931e350d6e30b1c3ce97c33');
    expect(sha1(lockRenewLua(6))).toBe('7bc6b9624dd0b22131efe97c5e87c313dfcc6dbd');
  });
});

describe('reading foreign items (x1)', () => {
  const mixed = list(loadKeys('plugins/x1-foreign-items-ruby-scheduler/keys-mixed.json'), 'resque:delayed:1796104537');

  it('decodes Ruby, pyres and node-resque items alike, queue included', () => {
    expect(mixed.map(decodeDelayedItem).map(d => [d.className, d.queue, d.problem])).toEqual([
      ['MixedJob', 'p10', null],
      ['testjobs.Echo', 'p10', null],
      ['testjobs.Flaky', 'p9', null],
      ['MixedJob', 'p10', null],
      ['nodeJob', 'p10', null],
    ]);
  });

  it('names the problem of each poison shape (s7)', () => {
    const s7 = loadKeys('plugins/s7-poison-delayed-items/keys-before.json');
    const items = [...list(s7, 'resque:delayed:1796105069'), ...list(s7, 'resque:delayed:1796105074')];
    expect(items.map(i => decodeDelayedItem(i).problem)).toEqual([
      'JSON null',
      null, // no queue: decided by the class-queue map
      null,
      null,
      null,
      'not JSON',
      null,
    ]);
  });

  it('splits a parked poison entry, newlines in the item included', () => {
    expect(parseParkedPoison(Buffer.from('17\nnot JSON\np1\na\nb'))).toEqual({ ts: '17', why: 'not JSON', queue: 'p1', raw: Buffer.from('a\nb') });
    expect(parseParkedPoison(Buffer.from('x'))).toBeNull();
  });
});
