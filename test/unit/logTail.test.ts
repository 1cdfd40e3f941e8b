/** A master's log tail: LogRing positions, and TailPublisher sending only what is new. */
import { LogRing } from '../../src/logging/ring';
import { LOG_TAIL_REFRESH_MS, LOG_TAIL_TTL_SECONDS, TailPublisher } from '../../src/master/logTail';

function fakeStore() {
  const calls: Array<{ lines: string[]; keep: number; ttl: number; replace: boolean }> = [];
  return {
    calls,
    async appendMasterLog(_id: string, lines: readonly string[], keep: number, ttl: number, replace = false): Promise<void> {
      calls.push({ lines: [...lines], keep, ttl, replace });
    },
  };
}

describe('LogRing.since', () => {
  it('gives the lines after a position, bounded by the ring', () => {
    const r = new LogRing(3);
    expect(r.since(0)).toEqual({ lines: [], seq: 0 });
    r.push('a');
    r.push('b');
    expect(r.since(0)).toEqual({ lines: ['a', 'b'], seq: 2 });
    expect(r.since(1)).toEqual({ lines: ['b'], seq: 2 });
    expect(r.since(2)).toEqual({ lines: [], seq: 2 });
    for (const l of ['c', 'd', 'e', 'f']) r.push(l);
    // 4 new lines after position 2, the ring keeps 3.
    expect(r.since(2)).toEqual({ lines: ['d', 'e', 'f'], seq: 6 });
  });
});

describe('TailPublisher', () => {
  it('first publish rewrites the list; then only new lines; nothing when there are none; an hourly rewrite', async () => {
    const ring = new LogRing(50);
    const store = fakeStore();
    const p = new TailPublisher(ring, store, 'h:1');
    ring.push('one');
    ring.push('two');
    expect(await p.publish(0)).toBe(true);
    expect(store.calls).toEqual([{ lines: ['one', 'two'], keep: 50, ttl: LOG_TAIL_TTL_SECONDS, replace: true }]);
    expect(await p.publish(1000)).toBe(false);
    expect(await p.publish(2000)).toBe(false);
    ring.push('three');
    expect(await p.publish(3000)).toBe(true);
    expect(store.calls[1]).toEqual({ lines: ['three'], keep: 50, ttl: LOG_TAIL_TTL_SECONDS, replace: false });
    expect(await p.publish(3000 + LOG_TAIL_REFRESH_MS - 1)).toBe(false);
    expect(await p.publish(3000 + LOG_TAIL_REFRESH_MS)).toBe(true);
    expect(store.calls[2]).toEqual({ lines: ['one', 'two', 'three'], keep: 50, ttl: LOG_TAIL_TTL_SECONDS, replace: true });
    expect(store.calls).toHaveLength(3);
  });

  it('a publish that fails is sent again (the position moves only on success)', async () => {
    const ring = new LogRing(50);
    let fail = true;
    const sent: string[][] = [];
    const p = new TailPublisher(
      ring,
      {
        async appendMasterLog(_id, lines) {
          if (fail) throw new Error('Redis down');
          sent.push([...lines]);
        },
      },
      'h:1',
    );
    ring.push('a');
    await expect(p.publish(0)).rejects.toThrow('Redis down');
    ring.push('b');
    fail = false;
    expect(await p.publish(1000)).toBe(true);
    expect(sent).toEqual([['a', 'b']]);
  });
});
