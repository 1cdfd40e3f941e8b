/**
 * The real `pyres-ts worker` process against a real redis-server: registration, the records
 * it writes for success, failure and bad input, queue priority, --drain, `status --json`,
 * and the CLI's usage errors.
 */
import { execFileSync } from 'node:child_process';
import { HEARTBEAT_RE, STARTED_RE, k, parseFailure, processTestEnv, waitFor, workerIdFor } from './helpers';
import { runCli, spawnCli } from '../support/spawn';

const env = processTestEnv();

/** `2026-11-22 22:10:47 +0000` → epoch ms. */
function parseStarted(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(s);
  if (!m) throw new Error(`not a started time: ${s}`);
  return Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
}

function title(pid: number): string {
  return execFileSync('ps', ['-o', 'args=', '-p', String(pid)])
    .toString()
    .trim();
}

describe('pyres-ts worker (real process)', () => {
  it('registers host:pid:p10,p9 with :started, a heartbeat and a Resque process title; QUIT unregisters', async () => {
    const before = Date.now();
    const { proc, id } = await env.startWorker();
    const r = env.redis;

    expect(await r.smembers(k('workers'))).toEqual([id]);
    const started = await r.get(k(`worker:${id}:started`));
    expect(started).toMatch(STARTED_RE);
    const startedMs = parseStarted(started!);
    expect(startedMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    expect(startedMs).toBeLessThanOrEqual(Date.now() + 1000);

    const hb = await r.hget(k('workers:heartbeat'), id);
    expect(hb).toMatch(HEARTBEAT_RE);
    const now = await env.serverTime();
    expect(Math.abs(Date.parse(hb!) / 1000 - now)).toBeLessThan(5);

    // Idle: no worker:<id> key (never an empty string).
    expect(await r.exists(k(`worker:${id}`))).toBe(0);

    const t = await waitFor(() => (/Waiting for/.test(title(proc.pid)) ? title(proc.pid) : ''), 3000, 'the idle process title');
    expect(t).toContain('resque-3.0.0');
    expect(t).toContain('pyres_worker');
    expect(t).toMatch(/^resque-3\.0\.0 pyres_worker \(pyres-ts \d+\.\d+\.\d+\): Waiting for p10,p9$/);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await proc.waitForLine(/unregistered/, 100);
    await env.expectUnregistered(id);
  });

  it('records success and failure with Ruby-shaped records and stats, and keeps running', async () => {
    const { proc, id } = await env.startWorker();
    const r = env.redis;
    await env.enqueue('p9', 'Echo', 1, 'x');
    await proc.waitForLine(/done: Echo from p9/);
    expect(env.ledgerLines()).toEqual(['Echo [1,"x"]']);
    // The log line comes first; the outcome is recorded in the next round trip.
    await waitFor(async () => (await env.stat('processed')) === '1', 2000, 'stat:processed 1');
    expect(await r.exists(k(`worker:${id}`))).toBe(0);
    expect(await env.stat(`processed:${id}`)).toBe('1');
    expect(await env.stat('failed')).toBeNull();

    const failRaw = await env.enqueue('p9', 'Fail', 'm');
    await waitFor(async () => (await env.failures()).length === 1, 5000, 'one failure record');
    const [rec] = await env.failures();
    // Byte shape: field order, compact, payload embedded as received.
    expect(rec).toMatch(
      new RegExp(
        '^\\{"failed_at":"\\d{4}/\\d{2}/\\d{2} \\d{2}:\\d{2}:\\d{2} UTC","payload":' +
          escapeRe(failRaw) +
          ',"exception":"TypeError","error":"boom: m","backtrace":\\[.*\\],"worker":' +
          escapeRe(JSON.stringify(id)) +
          ',"queue":"p9"\\}$',
      ),
    );
    const f = parseFailure(rec!);
    expect(f.backtrace.length).toBeGreaterThan(0);
    expect(f.backtrace[0]).toContain('fixtures/jobs/basic.js');
    // The backtrace is the job's frames only, cut before pyres-ts's own code.
    expect(f.backtrace.filter(l => l.includes('/dist/'))).toEqual([]);

    await waitFor(async () => (await env.stat('processed')) === '2', 2000, 'stat:processed 2');
    expect(await env.stat('failed')).toBe('1');
    expect(await env.stat(`processed:${id}`)).toBe('2');
    expect(await env.stat(`failed:${id}`)).toBe('1');
    expect(await r.exists(k(`worker:${id}`))).toBe(0);

    // Still working.
    await env.enqueue('p10', 'Echo', 'again');
    await env.waitForLedger(/Echo \["again"\]/);
    expect(proc.exited).toBe(false);
    expect(await r.sismember(k('workers'), id)).toBe(1);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
    expect(await env.stat('processed')).toBe('3'); // global stats stay
  });

  it('turns an unknown class and poison payloads into failure records and goes on', async () => {
    const { proc, id } = await env.startWorker();
    const r = env.redis;
    // What is not a job becomes the poison record's payload (docs/RELIABILITY.md, "The poison
    // record"): the item's text and exact bytes, in a shape resque-web renders and retries.
    const poisonPayload = (raw: string): string =>
      `{"class":"PyresTs::PoisonItem","args":[{"raw":${JSON.stringify(raw)},"raw_base64":${JSON.stringify(Buffer.from(raw).toString('base64'))}}]}`;
    const poison: Array<{ raw: string; payload: string; exception: string; error: RegExp }> = [
      { raw: 'not json', payload: poisonPayload('not json'), exception: 'PayloadDecodeError', error: /not JSON/ },
      { raw: 'null', payload: poisonPayload('null'), exception: 'PayloadDecodeError', error: /null/ },
      { raw: '[1,2]', payload: poisonPayload('[1,2]'), exception: 'PayloadDecodeError', error: /array/ },
      { raw: '{"args":[1]}', payload: poisonPayload('{"args":[1]}'), exception: 'PayloadDecodeError', error: /no "class"/ },
      {
        raw: '{"class":"Echo","args":{"a":1}}',
        payload: poisonPayload('{"class":"Echo","args":{"a":1}}'),
        exception: 'PayloadDecodeError',
        error: /"args" is not an array/,
      },
      { raw: '{"class":"Nope","args":[1.0]}', payload: '{"class":"Nope","args":[1.0]}', exception: 'UnknownJobClassError', error: /unknown job class "Nope"/ },
    ];
    for (const p of poison) await env.push('p9', p.raw);
    await env.enqueue('p9', 'Echo', 'after');
    await env.waitForLedger(/Echo \["after"\]/);
    await waitFor(async () => (await env.stat('processed')) === '7', 2000, 'stat:processed 7');

    const recs = await env.failures();
    expect(recs).toHaveLength(poison.length);
    recs.forEach((raw, i) => {
      const p = poison[i]!;
      // The raw bytes are kept (in the poison record where it is not a job); 1.0 stays 1.0.
      expect(raw).toContain(`"payload":${p.payload},"exception":${JSON.stringify(p.exception)},"error":`);
      const f = parseFailure(raw);
      expect(f.exception).toBe(p.exception);
      expect(f.error).toMatch(p.error);
      expect(f.backtrace).toEqual([]);
      expect(f.worker).toBe(id);
      expect(f.queue).toBe('p9');
    });
    expect(await env.stat('failed')).toBe('6');
    expect(await env.stat(`failed:${id}`)).toBe('6');
    expect(await env.stat(`processed:${id}`)).toBe('7');
    expect(await r.llen(k('queue:p9'))).toBe(0);
    expect(await r.exists(k(`worker:${id}`))).toBe(0);
    expect(proc.exited).toBe(false);
    expect(await r.sismember(k('workers'), id)).toBe(1);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('works p10 before p9, and starts again at the first queue after every job', async () => {
    await env.enqueue('p9', 'Echo', 'p9-1');
    await env.enqueue('p9', 'Echo', 'p9-2');
    await env.enqueue('p10', 'Echo', 'p10-1');
    await env.enqueue('p10', 'Echo', 'p10-2');
    const { proc } = await env.startWorker();
    await waitFor(() => env.ledgerLines().length === 4, 5000, 'four jobs');
    expect(env.ledgerLines()).toEqual(['Echo ["p10-1"]', 'Echo ["p10-2"]', 'Echo ["p9-1"]', 'Echo ["p9-2"]']);

    await env.enqueue('p9', 'Sleep', 0.5);
    await env.enqueue('p9', 'Echo', 'p9-3');
    await env.waitForLedger(/Sleep start/);
    await env.enqueue('p10', 'Echo', 'p10-3');
    await waitFor(() => env.ledgerLines().length === 8, 5000, 'eight ledger lines');
    expect(env.ledgerLines().slice(4)).toEqual(['Sleep start 0.5', 'Sleep done 0.5', 'Echo ["p10-3"]', 'Echo ["p9-3"]']);

    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
  });

  it('refreshes its heartbeat from Redis TIME every --heartbeat-interval', async () => {
    const { proc, id } = await env.startWorker(['--heartbeat-interval', '1']);
    const first = await env.redis.hget(k('workers:heartbeat'), id);
    expect(first).toMatch(HEARTBEAT_RE);
    const next = await waitFor(
      async () => {
        const v = await env.redis.hget(k('workers:heartbeat'), id);
        return v !== first ? v : null;
      },
      3000,
      'a newer heartbeat',
    );
    expect(next).toMatch(HEARTBEAT_RE);
    expect(Date.parse(next) - Date.parse(first!)).toBeGreaterThanOrEqual(1000);
    expect(Math.abs(Date.parse(next) / 1000 - (await env.serverTime()))).toBeLessThan(3);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('--queues "*" works every queue in the queues set, sorted, under the literal id host:pid:*', async () => {
    await env.enqueue('b', 'Echo', 'b');
    await env.enqueue('p10', 'Echo', 'p10');
    await env.enqueue('a', 'Echo', 'a');
    const { proc, id } = await env.startWorker([], '*');
    expect(id).toBe(workerIdFor(proc.pid, '*'));
    expect(await env.redis.smembers(k('workers'))).toEqual([id]);
    await waitFor(() => env.ledgerLines().length === 3, 5000, 'three jobs');
    expect(env.ledgerLines()).toEqual(['Echo ["a"]', 'Echo ["b"]', 'Echo ["p10"]']);
    // A queue that did not exist when the worker started.
    await env.enqueue('zz', 'Echo', 'new queue');
    await env.waitForLedger(/Echo \["new queue"\]/, 3000);
    proc.kill('SIGQUIT');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });

  it('--drain works the queues, then exits 0 and unregisters', async () => {
    await env.enqueue('p9', 'Echo', 1);
    await env.enqueue('p10', 'Echo', 2);
    await env.enqueue('p9', 'Fail', 3);
    const proc = spawnCli(['worker', '--queues', 'p10,p9', '--jobs', 'fixtures/jobs/basic.js', '--drain'], env.spawnOpts());
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(env.ledgerLines()).toEqual(['Echo [2]', 'Echo [1]']);
    expect(await env.stat('processed')).toBe('3');
    expect(await env.stat('failed')).toBe('1');
    expect(await env.redis.llen(k('queue:p9'))).toBe(0);
    await env.expectUnregistered(workerIdFor(proc.pid));
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it('--drain with empty queues exits 0 at once', async () => {
    const proc = spawnCli(['worker', '--queues', 'p10,p9', '--jobs', 'fixtures/jobs/basic.js', '--drain'], env.spawnOpts());
    expect(await proc.waitForEnd(8000)).toEqual({ code: 0, signal: null });
    expect(await env.redis.scard(k('workers'))).toBe(0);
    expect(await env.redis.hlen(k('workers:heartbeat'))).toBe(0);
  });

  it('status --json shows the running worker and its current job', async () => {
    const { proc, id } = await env.startWorker();
    const raw = await env.enqueue('p9', 'Abortable', 30);
    await env.waitForLedger(/Abortable start/);
    const st = await runCli(['status', '--json'], env.spawnOpts());
    expect(st.code).toBe(0);
    const s = JSON.parse(st.stdout) as {
      workers: Array<{ id: string; pid: number; queues: string[]; job: { queue: string; className: string; payload: string; runAt: string | null } | null }>;
      stats: { processed: number; failed: number };
    };
    expect(s.workers.map(w => w.id)).toEqual([id]);
    const w = s.workers[0]!;
    expect(w.pid).toBe(proc.pid);
    expect(w.queues).toEqual(['p10', 'p9']);
    expect(w.job).not.toBeNull();
    expect(w.job!.className).toBe('Abortable');
    expect(w.job!.queue).toBe('p9');
    expect(w.job!.payload).toBe(raw);
    expect(w.job!.runAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    // worker:<id> while working is Ruby's record with the payload embedded as received.
    expect(await env.redis.get(k(`worker:${id}`))).toMatch(
      new RegExp(`^\\{"queue":"p9","run_at":"\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z","payload":${escapeRe(raw)}\\}$`),
    );

    proc.kill('SIGTERM');
    expect(await proc.waitForEnd(5000)).toEqual({ code: 0, signal: null });
    await env.expectUnregistered(id);
  });
});

describe('pyres-ts usage errors', () => {
  it('an unknown flag: one line naming it, exit 2', async () => {
    const r = await runCli(['worker', '--bogus'], env.spawnOpts());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('bogus');
  });

  it('--jobs with a missing file: a clear message, exit 2', async () => {
    const r = await runCli(['worker', '--queues', 'p1', '--jobs', './missing.js'], env.spawnOpts());
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--jobs \.\/missing\.js: no such file/);
    expect(await env.redis.scard(k('workers'))).toBe(0);
  });

  it('enqueue with an argument that is not JSON: names the argument, exit 2, nothing pushed', async () => {
    const r = await runCli(['enqueue', 'p1', 'X', 'notjson'], env.spawnOpts());
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/argument 1 \("notjson"\) is not JSON/);
    expect(await env.redis.exists(k('queue:p1'))).toBe(0);
  });

  it('enqueue pushes exactly what Resque.enqueue pushes', async () => {
    const r = await runCli(['enqueue', 'p1', 'Echo', '1', '"two"', '{"b":[true,null]}'], env.spawnOpts());
    expect(r.code).toBe(0);
    expect(await env.redis.lrange(k('queue:p1'), 0, -1)).toEqual(['{"class":"Echo","args":[1,"two",{"b":[true,null]}]}']);
    expect(await env.redis.smembers(k('queues'))).toEqual(['p1']);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
