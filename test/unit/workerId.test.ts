import { ConfigError } from '../../src/errors';
import { formatWorkerId, parseWorkerId } from '../../src/protocol/workerId';
import { loadKeys, members } from './fixtureData';

describe('formatWorkerId', () => {
  test('host:pid:q1,q2 in the order given (b-worker-success id)', () => {
    expect(formatWorkerId('vm', 7652, ['p10', 'p9'])).toBe('vm:7652:p10,p9');
  });

  test('wildcards stay literal; !skip entries are omitted (Worker.new("*","!p9") is vm:10842:*)', () => {
    expect(formatWorkerId('vm', 10842, ['*', '!p9'])).toBe('vm:10842:*');
    expect(formatWorkerId('vm', 1, ['high', 'p*', '!p9', 'low'])).toBe('vm:1:high,p*,low');
  });

  test('a host containing ":" is rejected', () => {
    expect(() => formatWorkerId('fe80::1', 1, ['p10'])).toThrow(ConfigError);
    expect(() => formatWorkerId('host:8080', 1, ['p10'])).toThrow(ConfigError);
  });

  test('no queue left after removing !skip entries is rejected (never host:pid:)', () => {
    expect(() => formatWorkerId('vm', 1, ['!p9'])).toThrow(ConfigError);
    expect(() => formatWorkerId('vm', 1, [])).toThrow(ConfigError);
  });
});

describe('parseWorkerId', () => {
  test('splits like Worker.find (split(":", 3), then queues on ",")', () => {
    expect(parseWorkerId('vm:7652:p10,p9')).toEqual({ host: 'vm', pid: 7652, queues: ['p10', 'p9'] });
    expect(parseWorkerId('vm:10842:*')).toEqual({ host: 'vm', pid: 10842, queues: ['*'] });
    // the third part keeps any further ':' (limit 3)
    expect(parseWorkerId('vm:1:a:b')).toEqual({ host: 'vm', pid: 1, queues: ['a:b'] });
  });

  test('format/parse round trip', () => {
    for (const [host, pid, queues] of [
      ['vm', 7652, ['p10', 'p9']],
      ['web-01.example.com', 123456, ['*']],
      ['otherhost', 12345, ['other_queue']],
    ] as const) {
      const id = formatWorkerId(host, pid, queues);
      expect(parseWorkerId(id)).toEqual({ host, pid, queues: [...queues] });
      const p = parseWorkerId(id)!;
      expect(formatWorkerId(p.host, p.pid, p.queues)).toBe(id);
    }
  });

  test('every worker id in the Ruby and pyres captures parses and formats back', () => {
    const ids = [
      ...members(loadKeys('resque-ruby/d-prune-dead-workers/keys-before.json'), 'resque:workers'),
      ...members(loadKeys('resque-ruby/b-worker-success/keys-during-job.json'), 'resque:workers'),
      ...members(loadKeys('pyres/b2-worker-default-lpop-backoff/keys-during-job.json'), 'resque:workers'),
    ];
    expect(ids).toContain('vm:999995:other_queue');
    expect(ids).toContain('vm:10689:p10,p9');
    for (const id of ids) {
      const p = parseWorkerId(id);
      expect(p).not.toBeNull();
      expect(formatWorkerId(p!.host, p!.pid, p!.queues)).toBe(id);
    }
  });

  test.each([
    ['host:pid (no queues part, resque-web W8)', 'tshost:4242'],
    ['host:pid: (empty queue list, resque-web W9)', 'tshost:4242:'],
    ['a bare host', 'tshost'],
    ['a non-numeric pid', 'tshost:abc:p10'],
    ['a fractional pid', 'tshost:1.5:p10'],
    ['the empty string', ''],
  ])('null for %s', (_name, id) => {
    expect(parseWorkerId(id)).toBeNull();
  });
});
