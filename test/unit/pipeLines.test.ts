/**
 * The whole-line pipe writer (src/logging/pipeLines.ts) against a raw write that takes what a
 * full pipe would: writes of at most PIPE_BUF bytes ending at line ends, EAGAIN waits in order,
 * a long line alone, dropped lines counted in a note at their place, EPIPE ends it.
 */
import { PIPE_BUF, PipeLineWriter, linePieces } from '../../src/logging/pipeLines';

const eagain = (): Error => Object.assign(new Error('EAGAIN: resource temporarily unavailable, write'), { code: 'EAGAIN' });

/** A pipe stand-in: `room` bytes free; a write of at most PIPE_BUF bytes is all or EAGAIN, a longer one takes what fits. */
function fakePipe(room = Number.POSITIVE_INFINITY) {
  const p = {
    room,
    writes: [] as Buffer[],
    fail: null as Error | null,
    text: () => Buffer.concat(p.writes).toString('utf8'),
    write: (_fd: number, b: Buffer): number => {
      if (p.fail) throw p.fail;
      if (p.room <= 0) throw eagain();
      if (b.length <= PIPE_BUF && b.length > p.room) throw eagain();
      const n = Math.min(b.length, p.room);
      p.room -= n;
      p.writes.push(Buffer.from(b.subarray(0, n)));
      return n;
    },
  };
  return p;
}

const line = (i: number, len = 100): string => `${String(i).padStart(6, '0')} ${'x'.repeat(len - 8)}\n`;

describe('linePieces', () => {
  it('cuts at line ends into pieces of at most PIPE_BUF bytes; a longer line stays whole, alone', () => {
    const text = Buffer.from(Array.from({ length: 100 }, (_, i) => line(i)).join('') + `${'L'.repeat(9000)}\n` + line(100));
    const pieces = linePieces(text);
    expect(Buffer.concat(pieces).equals(text)).toBe(true);
    for (const p of pieces) {
      expect(p[p.length - 1]).toBe(10);
      if (p.length > PIPE_BUF) expect(p.toString()).toBe(`${'L'.repeat(9000)}\n`);
    }
    expect(pieces.filter(p => p.length > PIPE_BUF)).toHaveLength(1);
    expect(linePieces(Buffer.from('short\n'))).toHaveLength(1);
  });
});

describe('PipeLineWriter', () => {
  it('writes at once while the pipe has room, in writes of whole lines up to PIPE_BUF', () => {
    const pipe = fakePipe();
    const w = new PipeLineWriter({ fd: 99, onGone: () => undefined, writeSync: pipe.write });
    const all = Array.from({ length: 200 }, (_, i) => line(i)).join('');
    expect(w.write(all)).toBe(true);
    expect(w.pending).toBe(0);
    expect(pipe.text()).toBe(all);
    for (const b of pipe.writes) {
      expect(b.length).toBeLessThanOrEqual(PIPE_BUF);
      expect(b[b.length - 1]).toBe(10);
    }
  });

  it('on EAGAIN the lines wait, in order, and go once the pipe has room; drained() resolves then', async () => {
    const pipe = fakePipe(250);
    const w = new PipeLineWriter({ fd: 99, onGone: () => undefined, writeSync: pipe.write });
    const lines = Array.from({ length: 50 }, (_, i) => line(i));
    for (const l of lines) w.write(l);
    expect(pipe.text()).toBe(lines[0]! + lines[1]!);
    expect(w.pending).toBe(48 * 100);
    let drained = false;
    const d = w.drained().then(() => (drained = true));
    await new Promise(r => setTimeout(r, 20));
    expect(drained).toBe(false);
    pipe.room = Number.POSITIVE_INFINITY;
    await d;
    expect(pipe.text()).toBe(lines.join(''));
    expect(w.pending).toBe(0);
    for (const b of pipe.writes) expect(b.toString().endsWith('\n')).toBe(true);
  });

  it('a line longer than PIPE_BUF that the pipe takes part of: its rest goes next, before any other line', async () => {
    const pipe = fakePipe(5000);
    const w = new PipeLineWriter({ fd: 99, onGone: () => undefined, writeSync: pipe.write });
    const long = `${'L'.repeat(8000)}\n`;
    w.write(long);
    w.write(line(1));
    expect(pipe.writes.map(b => b.length)).toEqual([5000]);
    pipe.room = Number.POSITIVE_INFINITY;
    await w.drained();
    expect(pipe.text()).toBe(long + line(1));
    expect(pipe.writes.map(b => b.length)).toEqual([5000, 3001, 100]);
  });

  it('past maxQueuedBytes lines are dropped and counted; a note says how many, where they were', async () => {
    const pipe = fakePipe(0);
    const w = new PipeLineWriter({ fd: 99, onGone: () => undefined, writeSync: pipe.write, maxQueuedBytes: 1000, droppedNote: n => `NOTE ${n} dropped\n` });
    for (let i = 0; i < 15; i++) expect(w.write(line(i))).toBe(true);
    expect(w.pending).toBe(1000);
    // Room again: the retry writes the queue and the note; a later line comes after it.
    pipe.room = Number.POSITIVE_INFINITY;
    await w.drained();
    w.write(line(99));
    expect(w.pending).toBe(0);
    const expected = Array.from({ length: 10 }, (_, i) => line(i)).join('') + 'NOTE 5 dropped\n' + line(99);
    expect(pipe.text()).toBe(expected);
  });

  it('EPIPE (the reader is gone): onGone once, the queue dropped, later writes refused, drained() resolves', async () => {
    const pipe = fakePipe(0);
    const gone: Error[] = [];
    const w = new PipeLineWriter({ fd: 99, onGone: e => gone.push(e), writeSync: pipe.write });
    w.write(line(1));
    const d = w.drained();
    pipe.fail = Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE' });
    pipe.room = 1000;
    await d;
    expect(gone.map(e => (e as NodeJS.ErrnoException).code)).toEqual(['EPIPE']);
    expect(w.write(line(2))).toBe(false);
    expect(w.pending).toBe(0);
    expect(gone).toHaveLength(1);
  });

  it('flushNow (at exit) writes what the pipe takes without waiting for the retry timer', () => {
    const pipe = fakePipe(0);
    const w = new PipeLineWriter({ fd: 99, onGone: () => undefined, writeSync: pipe.write });
    w.write(line(1));
    w.write(line(2));
    expect(pipe.text()).toBe('');
    pipe.room = Number.POSITIVE_INFINITY;
    w.flushNow();
    expect(pipe.text()).toBe(line(1) + line(2));
    expect(w.pending).toBe(0);
  });
});
