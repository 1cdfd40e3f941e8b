/**
 * Queue items that are not jobs (issue 10, items 7 and 8), through a real `pyres-ts worker` on a
 * real redis-server.
 *
 * Before: the failure record embedded such an item as it was (an array, a number, `true`) or as
 * a JSON string (non-JSON, `null`, a string): resque-web's /failed page answered 500 on the
 * first kind, its Retry / "Retry all" on the second. An item with invalid UTF-8 inside a JSON
 * string ran with U+FFFD in its arguments (ioredis decoded the reply as UTF-8).
 *
 * Now every such item is refused as a PayloadDecodeError whose record carries
 * `{"class":"PyresTs::PoisonItem","args":[{"raw":..,"raw_base64":..}]}`: resque-web renders and
 * retries it (checked with the model of its exact expressions in test/support/resqueWeb.ts,
 * itself checked against the captured resque-web results), the item's bytes are recoverable
 * byte for byte, and a retried poison item fails again the same way, bytes still there.
 */
import { POISON_CLASS, poisonBytes } from '../../src/protocol/records';
import { Dashboard } from '../../src/admin/admin';
import { parseDsnList } from '../../src/web/dsn';
import { startWebServer } from '../../src/web/server';
import { parseFailure } from '../support/resqueAsserts';
import { failedPage, renderFailedJob, requeueAll } from '../support/resqueWeb';
import { runCli } from '../support/spawn';
import { CHAOS_JOBS, faultEnv, privateRedis, k } from './helpers';

const env = faultEnv();
const redis = privateRedis();

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
/** é as the single Latin-1 byte 0xE9 inside a JSON string: a valid job but for its bytes. */
const LATIN1_JOB = Buffer.concat([b('{"class":"Record","args":["caf'), Buffer.from([0xe9]), b('"]}')]);

const POISON: Array<[string, Buffer]> = [
  ['not JSON', b('not json {')],
  ['looks like an object, not JSON', b('{"class":"Record","args":[1]')],
  ['null', b('null')],
  ['a string', b('"a string with class and args in it"')],
  ['a number', b('5')],
  ['true', b('true')],
  ['an array', b('[1,2]')],
  ['an object without class', b('{"args":[1]}')],
  ['class not a string', b('{"class":5,"args":[]}')],
  ['args not an array', b('{"class":"Record","args":{"a":1}}')],
  ['invalid UTF-8 inside a JSON string', LATIN1_JOB],
  ['bare invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x41])],
];

async function drain(): Promise<void> {
  const w = env.cli(['worker', '--queues', 'q', '--jobs', CHAOS_JOBS, '--drain'], redis.srv.url);
  expect(await w.waitForEnd(20000)).toEqual({ code: 0, signal: null });
}

async function push(...items: Buffer[]): Promise<void> {
  await redis.r
    .pipeline()
    .sadd(k('queues'), 'q')
    .rpush(k('queue:q'), ...items)
    .exec();
}

describe('one worker run over every poison item, then a good job', () => {
  // One run for the whole block (each test checks its own item); captured before the next test's cleanup.
  let run: Promise<{ ledger: string[]; recs: Buffer[] }> | null = null;
  const once = (): Promise<{ ledger: string[]; recs: Buffer[] }> =>
    (run ??= (async () => {
      // Record would append `ok ...` to the ledger if it ran; the last job shows that the worker went on.
      await push(...POISON.map(([, raw]) => raw), b('{"class":"Record","args":["after"]}'));
      await drain();
      return { ledger: env.ledgerLines(), recs: await redis.r.lrangeBuffer(k('failed'), 0, -1) };
    })());

  it('none of them ran (the Latin-1 job did not run with U+FFFD in its args); the worker went on', async () => {
    const { ledger, recs } = await once();
    expect(ledger).toEqual(['ok "after"']);
    expect(recs).toHaveLength(POISON.length);
  });

  it.each(POISON.map(([what, raw], i) => [what, raw, i] as const))(
    '%s: a PoisonItem record, valid UTF-8, its exact bytes in raw_base64, rendered and retried by resque-web',
    async (_what, raw, i) => {
      const buf = (await once()).recs[i]!;
      const text = buf.toString('utf8');
      expect(Buffer.from(text, 'utf8').equals(buf)).toBe(true);
      const rec = parseFailure(text);
      expect([rec.exception, rec.queue, rec.backtrace]).toEqual(['PayloadDecodeError', 'q', []]);
      expect((rec.payload as { class: string }).class).toBe(POISON_CLASS);
      expect(poisonBytes(rec.payload)?.equals(raw)).toBe(true);
      expect(renderFailedJob(text)).toMatchObject({ parsed: true, className: POISON_CLASS });
      expect(failedPage([text])).toEqual({ status: 200 });
      const { pushed, error } = requeueAll([text]);
      expect(error).toBeNull();
      expect(pushed).toEqual([{ queue: 'q', job: JSON.stringify({ class: POISON_CLASS, args: (rec.payload as { args: unknown }).args }) }]);
    },
  );

  it('the whole /failed page renders and Retry all goes through', async () => {
    const texts = (await once()).recs.map(x => x.toString('utf8'));
    expect(failedPage(texts)).toEqual({ status: 200 });
    expect(requeueAll(texts)).toMatchObject({ error: null, pushed: POISON.map(() => ({ queue: 'q' })) });
  });
});

it('Retry all (pyres-ts failed retry-all) pushes poison markers; they fail again the same way, bytes kept', async () => {
  await push(...POISON.map(([, raw]) => raw));
  await drain();
  const list = await runCli(['failed', 'list'], { redisUrl: redis.srv.url });
  expect(list.code).toBe(0);
  expect(list.stdout.split(POISON_CLASS).length - 1).toBeGreaterThanOrEqual(POISON.length);
  const retry = await runCli(['failed', 'retry-all'], { redisUrl: redis.srv.url });
  expect([retry.code, retry.stderr]).toEqual([0, '']);
  expect(await redis.r.llen(k('queue:q'))).toBe(POISON.length);
  await drain();
  expect(env.ledgerLines()).toEqual([]);
  const recs = (await redis.r.lrange(k('failed'), 0, -1)).slice(POISON.length);
  expect(recs).toHaveLength(POISON.length);
  recs.forEach((text, i) => {
    const rec = parseFailure(text);
    expect(rec.exception).toBe('PayloadDecodeError');
    expect(rec.error).toContain(POISON_CLASS);
    expect(poisonBytes(rec.payload)?.equals(POISON[i]![1])).toBe(true);
  });
  expect(failedPage(recs)).toEqual({ status: 200 });
  expect(requeueAll(recs).error).toBeNull();
});

it('pyres-ts status and its dashboard /failed page render poison records', async () => {
  await push(...POISON.map(([, raw]) => raw));
  await drain();
  const st = await runCli(['status'], { redisUrl: redis.srv.url });
  expect(st.code).toBe(0);
  const dashboard = new Dashboard(parseDsnList(redis.srv.url, { namespace: 'resque' }));
  await dashboard.connect();
  const web = await startWebServer({ dashboard, port: 0 });
  try {
    const res = await fetch(`${web.url}/failed`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.split(POISON_CLASS).length - 1).toBeGreaterThanOrEqual(POISON.length);
  } finally {
    await web.close();
  }
});

it('a failing job with non-ASCII arguments keeps their bytes exactly in its record', async () => {
  const payload = b('{"class":"Throw","args":["error","café ☃ 𝄞 \\u00e9",1.0]}');
  await push(payload);
  await drain();
  const [rec] = await redis.r.lrangeBuffer(k('failed'), 0, -1);
  expect(rec).toBeDefined();
  expect(rec!.indexOf(payload)).toBeGreaterThan(0);
  expect(parseFailure(rec!.toString('utf8')).exception).toBe('Error');
});
