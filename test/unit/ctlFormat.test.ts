/**
 * `pyres-ts ctl status` output: a group's crash loop with its reason; master records that are
 * not a master's JSON are skipped with a note instead of crashing the command. Pure.
 */
import { formatMasterTree, parseMasterRecords } from '../../src/cli/ctlCommand';
import type { MasterInfo } from '../../src/master/master';

const NOW = Date.parse('2026-12-01T12:00:00.000Z');

function info(over: Partial<MasterInfo> = {}): MasterInfo {
  return {
    id: 'vm:100',
    host: 'vm',
    pid: 100,
    version: '0.1.0',
    startedAt: '2026-12-01T11:59:00.000Z',
    paused: false,
    stopping: false,
    groups: [{ queues: 'p1', desired: 2, min: null, max: null, running: 0 }],
    children: [],
    autoscale: null,
    ...over,
  };
}

describe('formatMasterTree', () => {
  it('shows a crash loop with its count, age and reason', () => {
    const m = info({
      groups: [
        {
          queues: 'p1',
          desired: 2,
          min: null,
          max: null,
          running: 0,
          lastCrash: { reason: '--jobs /app/jobs.js: SyntaxError at /app/jobs.js:3: Unexpected token', count: 4, at: '2026-12-01T11:59:57.000Z' },
        },
        { queues: 'p2', desired: 1, min: 1, max: 3, running: 1, lastCrash: null },
      ],
    });
    const out = formatMasterTree(m, NOW);
    expect(out.split('\n')[0]).toBe('vm:100  pyres-ts 0.1.0  up 60s  p1=2  p2=1 (1..3)');
    expect(out).toContain('   p1: crash loop: 4 in a row, last 3s ago: --jobs /app/jobs.js: SyntaxError at /app/jobs.js:3: Unexpected token');
    expect(out).not.toContain('p2: crash loop');
  });

  it('children as a tree, as before', () => {
    const out = formatMasterTree(
      info({
        children: [
          { pid: 201, workerId: 'vm:201:p1', group: 'p1', startedAt: '2026-12-01T11:59:00.000Z', rssMb: 40, job: null },
          {
            pid: 202,
            workerId: 'vm:202:p1',
            group: 'p1',
            startedAt: '2026-12-01T11:59:00.000Z',
            rssMb: 41,
            job: { className: 'Echo', queue: 'p1', since: '2026-12-01T11:59:50.000Z' },
          },
        ],
      }),
      NOW,
    );
    expect(out.split('\n').slice(1)).toEqual([
      '├─ 201     vm:201:p1  idle  rss 40 MB',
      '└─ 202     vm:202:p1  working on Echo from p1 since 2026-12-01T11:59:50.000Z (10s)  rss 41 MB',
    ]);
  });
});

describe('parseMasterRecords', () => {
  it('skips junk inside an otherwise valid record (null children or groups) instead of crashing ctl status', () => {
    const notes: string[] = [];
    const bad = { ...info(), children: [null], groups: [null] };
    const out = parseMasterRecords([{ id: 'vm:3', info: JSON.stringify(bad) }], m => notes.push(m));
    expect(() => out.forEach(m => formatMasterTree(m))).not.toThrow();
    expect(out.length + notes.length).toBe(1);
  });

  it('skips (with a note) a record that is not valid JSON or not a master', () => {
    const notes: string[] = [];
    const good = info();
    const out = parseMasterRecords(
      [
        { id: 'vm:1', info: '{not json' },
        { id: 'vm:2', info: JSON.stringify({ hello: 'world' }) },
        { id: 'vm:100', info: JSON.stringify(good) },
      ],
      m => notes.push(m),
    );
    expect(out.map(m => m.id)).toEqual([good.id]);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/^skipping master vm:1: not valid JSON/);
    expect(notes[1]).toMatch(/^skipping master vm:2: /);
  });
});
