/**
 * The finish-and-reserve step's prebuilt request (store/stepCommand.ts) puts on the wire exactly
 * the bytes ioredis's defineCommand puts there for the same arguments: EVAL with the Lua text on
 * a socket's first step, EVALSHA after, every argument a bulk string of its UTF-8 bytes; after a
 * SCRIPT FLUSH the step's NOSCRIPT is answered by the same step as EVAL (no error reaches the
 * caller), and a new socket (CLIENT KILL) starts with EVAL again. Both clients go through a
 * recording TCP proxy; only their EVAL/EVALSHA requests are compared.
 */
import * as net from 'node:net';
import IORedis from 'ioredis';
import { JobRegistry } from '../../src/jobs/registry';
import { createLogger } from '../../src/logging/logger';
import { RedisStore } from '../../src/store/redisStore';
import { Worker } from '../../src/worker/worker';
import { FINISH_AND_RESERVE } from '../../src/store/scripts';
import { type RedisServerHandle, startRedis } from '../support/redisServer';
import { closeRedis, HOST, waitFor } from './helpers';

const RUN_AT = '2026-11-22T22:10:47Z';
let srv: RedisServerHandle;
let r: IORedis;

/** A loopback proxy to Redis that records what each client connection sent, in order. */
class RecordingProxy {
  readonly sent: Buffer[][] = [];
  private readonly server = net.createServer(c => {
    const up = net.connect(srv.port, '127.0.0.1');
    const mine: Buffer[] = [];
    this.sent.push(mine);
    this.sockets.push(c, up);
    c.on('data', d => {
      mine.push(Buffer.from(d));
      up.write(d);
    });
    up.on('data', d => c.write(d));
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
  });
  private readonly sockets: net.Socket[] = [];
  port = 0;
  async listen(): Promise<void> {
    await new Promise<void>(res => this.server.listen(0, '127.0.0.1', res));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>(res => this.server.close(() => res()));
  }
}

/** The steps' EVAL/EVALSHA requests in a byte stream of RESP arrays, each as its raw bytes. */
function scriptRequests(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const line = (): string => {
    const end = stream.indexOf('\r\n', i);
    const s = stream.subarray(i, end).toString('latin1');
    i = end + 2;
    return s;
  };
  while (i < stream.length) {
    const start = i;
    const head = line();
    if (!head.startsWith('*')) throw new Error(`not a RESP array at ${start}: ${head}`);
    const n = Number(head.slice(1));
    let name = '';
    for (let k = 0; k < n; k++) {
      const len = Number(line().slice(1));
      if (k === 0)
        name = stream
          .subarray(i, i + len)
          .toString('latin1')
          .toLowerCase();
      i += len + 2;
    }
    // The connect's scripting probe (`return 1`) is not a step.
    if ((name === 'eval' || name === 'evalsha') && stream.subarray(start, i).includes(':worker:')) out.push(stream.subarray(start, i));
  }
  return out;
}

const requestsOf = (p: RecordingProxy, conn: number): Buffer[] => scriptRequests(Buffer.concat(p.sent[conn] ?? []));

beforeAll(async () => {
  srv = await startRedis();
  r = new IORedis(srv.url);
});
afterAll(async () => {
  await closeRedis(r);
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
  await r.script('FLUSH');
});

/**
 * The step's arguments as the store documents them (scripts.ts, FINISH_AND_RESERVE): four keys
 * for nothing to finish or a success, all nine otherwise.
 */
function stepArgs(wid: string, mode: string, counter: number, record: string, reserve: boolean, runAt: string, queues: string[]): string[] {
  const ns = 'resque';
  const keys =
    mode === '0' || mode === '1'
      ? [`${ns}:worker:${wid}`, `${ns}:stat:processed`, `${ns}:stat:processed:${wid}`, `${ns}:pause-all-workers`]
      : [
          `${ns}:worker:${wid}`,
          `${ns}:stat:processed`,
          `${ns}:stat:processed:${wid}`,
          `${ns}:stat:failed`,
          `${ns}:stat:failed:${wid}`,
          `${ns}:failed`,
          `${ns}:pause-all-workers`,
          `${ns}:queues`,
          `${ns}:queues`,
        ];
  return [
    String(keys.length),
    ...keys,
    mode,
    String(counter),
    record,
    reserve ? '1' : '0',
    reserve ? runAt : '',
    `${ns}:queue:`,
    '0',
    ...(reserve ? queues : []),
  ];
}

test('steps on the wire equal ioredis defineCommand bytes: EVAL first, EVALSHA after, UTF-8 records; NOSCRIPT after SCRIPT FLUSH resent as EVAL', async () => {
  const proxy = new RecordingProxy();
  await proxy.listen();
  const wid = `${HOST}:1:q`;
  const store = new RedisStore({ connection: { url: `redis://127.0.0.1:${proxy.port}` }, namespace: 'resque', name: 'itest:step' });
  const ref = new IORedis({ port: proxy.port, lazyConnect: true });
  try {
    await store.connect();
    await ref.connect();
    ref.defineCommand('refStep', { lua: FINISH_AND_RESERVE });
    const refStep = (args: string[]): Promise<unknown> => (ref as unknown as { refStepBuffer(a: string[]): Promise<unknown> }).refStepBuffer(args);
    await r.rpush('resque:queue:q', '{"class":"A","args":[1]}', '{"class":"B","args":["é"]}', '{"class":"C","args":[]}');
    const record = '{"failed_at":"x","error":"bad \u00e9 \u2028 \u0001 \ud83d\ude00","payload":{"class":"A"}}';

    const a = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
    expect(a).toMatchObject({ status: 'job', queue: 'q', raw: '{"class":"A","args":[1]}', processed: 0 });
    const b = await store.finishAndReserve(
      wid,
      { mode: 'failure', expectedProcessed: 0, failureRecord: record, failureQueue: 'q' },
      { runAt: RUN_AT, queueArgs: ['0', 'q'] },
    );
    expect(b).toMatchObject({ status: 'job', raw: '{"class":"B","args":["é"]}', processed: 1 });
    // The script cache is flushed: this step's EVALSHA gets NOSCRIPT and is sent again as EVAL.
    await r.script('FLUSH');
    const c = await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: 1 }, null);
    expect(c).toEqual({ status: 'done', processed: 2 });
    const d = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 2 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
    expect(d).toMatchObject({ status: 'job', raw: '{"class":"C","args":[]}' });
    expect(await r.llen('resque:failed')).toBe(1);
    expect(await r.lindex('resque:failed', 0)).toBe(record);

    // The same arguments through ioredis's own script command, on its own socket (a second worker id).
    const wid2 = `${HOST}:2:q`;
    await r.script('FLUSH');
    await r.rpush('resque:queue:q', '{"class":"A","args":[1]}', '{"class":"B","args":["é"]}', '{"class":"C","args":[]}');
    await refStep(stepArgs(wid2, '0', 0, '', true, RUN_AT, ['q']));
    await refStep(stepArgs(wid2, '2', 0, record, true, RUN_AT, ['q']));
    await r.script('FLUSH');
    await refStep(stepArgs(wid2, '1', 1, '', false, RUN_AT, ['q']));
    await refStep(stepArgs(wid2, '0', 2, '', true, RUN_AT, ['q']));

    const ours = requestsOf(proxy, 0).map(x => x.toString('latin1').replaceAll(wid, 'WID'));
    const theirs = requestsOf(proxy, 1).map(x => x.toString('latin1').replaceAll(wid2, 'WID'));
    // eval, evalsha, evalsha (NOSCRIPT), eval, evalsha
    expect(ours.map(x => x.split('\r\n')[2])).toEqual(['eval', 'evalsha', 'evalsha', 'eval', 'evalsha']);
    expect(ours).toEqual(theirs);
  } finally {
    await store.close();
    ref.disconnect();
    await proxy.close();
  }
});

test('a requeue step (other keys) and a reconnected socket (CLIENT KILL): the same bytes as ioredis, EVAL again on the new socket', async () => {
  const proxy = new RecordingProxy();
  await proxy.listen();
  const wid = `${HOST}:3:q`;
  const store = new RedisStore({ connection: { url: `redis://127.0.0.1:${proxy.port}` }, namespace: 'resque', name: 'itest:step-kill' });
  try {
    await store.connect();
    await r.rpush('resque:queue:q', '{"class":"A","args":[]}');
    const a = await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
    expect(a.status).toBe('job');
    const reconnected = new Promise<void>(res => store.once('reconnected', () => res()));
    await r.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // Sent while the connection is down or coming back: ioredis queues it, then it goes as EVAL on the new socket.
    const b = await store.finishAndReserve(
      wid,
      { mode: 'requeue', expectedProcessed: 0, requeue: { queue: 'q', raw: '{"class":"A","args":[]}' } },
      { runAt: RUN_AT, queueArgs: ['0', 'q'] },
    );
    await reconnected;
    // Requeued to the head, then reserved again by the same step.
    expect(b).toMatchObject({ status: 'job', raw: '{"class":"A","args":[]}' });
    const last = proxy.sent.length - 1;
    const reqs = requestsOf(proxy, last);
    expect(reqs.map(x => x.toString('latin1').split('\r\n')[2])).toEqual(['eval']);
    const expected = [
      'eval',
      FINISH_AND_RESERVE,
      '9',
      `resque:worker:${wid}`,
      'resque:stat:processed',
      `resque:stat:processed:${wid}`,
      'resque:stat:failed',
      `resque:stat:failed:${wid}`,
      'resque:failed',
      'resque:pause-all-workers',
      'resque:queues',
      'resque:queue:q',
      '4',
      '0',
      '{"class":"A","args":[]}',
      '1',
      RUN_AT,
      'resque:queue:',
      '0',
      'q',
    ];
    const resp = `*${expected.length}\r\n${expected.map(x => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
    expect(reqs[0]?.toString('utf8')).toBe(resp);
  } finally {
    await store.close();
    await proxy.close();
  }
});

test('a worker whose script cache is flushed again and again mid-stream: every job runs once, counted once, no step fails', async () => {
  const lines: string[] = [];
  const ran: number[] = [];
  const jobs = new JobRegistry().register('Count', { perform: (n: number) => void ran.push(n) });
  const w = new Worker({
    queues: 'q',
    jobs,
    connection: { url: srv.url },
    hostname: HOST,
    prune: false,
    livenessThread: false,
    logger: createLogger({ level: 'debug', write: (l: string) => void lines.push(l) }),
  });
  w.on('error', () => undefined);
  const N = 600;
  try {
    await w.start();
    const p = r.pipeline();
    for (let i = 0; i < N; i++) p.rpush('resque:queue:q', JSON.stringify({ class: 'Count', args: [i] }));
    await p.exec();
    let flushes = 0;
    while (ran.length < N && flushes < 200) {
      await r.script('FLUSH');
      flushes += 1;
      await new Promise(res => setTimeout(res, 2));
    }
    await waitFor(async () => Number(await r.get('resque:stat:processed')) === N, `${N} jobs processed`, 20000);
    expect(flushes).toBeGreaterThan(1);
    expect([...ran].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(Number(await r.get(`resque:stat:processed:${w.id}`))).toBe(N);
    expect(await r.llen('resque:failed')).toBe(0);
    expect(lines.filter(l => /reserve failed|NOSCRIPT/.test(l))).toEqual([]);
  } finally {
    await w.stop();
  }
});

test('Redis silent (SIGSTOP) mid-step: the step rejects with ioredis\'s "Command timed out" after the command timeout; after SIGCONT the next step works', async () => {
  const own = await startRedis();
  const store = new RedisStore({ connection: { url: own.url, timeout: 0.5 }, namespace: 'resque', name: 'itest:step-silent' });
  const raw = new IORedis(own.url);
  const wid = `${HOST}:4:q`;
  try {
    await store.connect();
    await raw.rpush('resque:queue:q', '{"class":"A","args":[]}', '{"class":"B","args":[]}');
    expect((await store.finishAndReserve(wid, { mode: 'none', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] })).status).toBe('job');
    process.kill(own.pid, 'SIGSTOP');
    let err: unknown = null;
    try {
      await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/Command timed out/);
    process.kill(own.pid, 'SIGCONT');
    // The same step again (as the worker's loop does): the guard makes a finish that did run a no-op.
    await waitFor(() => store.isReady, 'the store reconnected', 10000);
    const again = await store.finishAndReserve(wid, { mode: 'success', expectedProcessed: 0 }, { runAt: RUN_AT, queueArgs: ['0', 'q'] });
    expect(again).toMatchObject({ processed: 1 });
    expect(['job', 'held']).toContain(again.status);
    expect(Number(await raw.get(`resque:stat:processed:${wid}`))).toBe(1);
  } finally {
    try {
      process.kill(own.pid, 'SIGCONT');
    } catch {
      /* already running or gone */
    }
    await store.close();
    await closeRedis(raw);
    await own.stop();
  }
});
