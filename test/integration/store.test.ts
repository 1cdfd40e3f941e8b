/**
 * RedisStore against a real redis-server: the Lua working-on builder matches the TS one byte for
 * byte, and the finish-and-reserve script reserves, pauses, globs and finishes as Resque does.
 */
import type Redis from 'ioredis';
import { decodeWorkingOn, encodeWorkingOn, JobRegistry, parseQueueList, RedisStore, resolveQueues } from '../../src';
import { globToLuaPattern, hasPatterns } from '../../src/protocol/queues';
import { isJson } from '../../src/protocol/job';
import type { FinishSpec, ReserveSpec } from '../../src/store/redisStore';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { HOST, keys, loadPayloads, Resources } from './helpers';

const url = testDbUrl();
const RUN_AT = '2026-11-22T22:10:47Z';
const WID = `${HOST}:4242:p10,p9`;

let res: Resources;
let store: RedisStore;
let r: Redis;

beforeEach(async () => {
  await flushTestDb(url);
  res = new Resources(url);
  store = new RedisStore({ connection: { url }, namespace: 'resque', name: 'itest:store' });
  res.onClose(() => store.close());
  await store.connect();
  r = res.redis();
});

afterEach(async () => {
  await res.closeAll();
});

/** The Worker constructor's queueArgs, rebuilt here (and checked against a real Worker below). */
function queueArgsFor(queues: string): string[] {
  const specs = parseQueueList(queues);
  return hasPatterns(specs)
    ? ['1', ...specs.map(s => (s.negate ? `-g${globToLuaPattern(s.pattern)}` : s.isGlob ? `+g${globToLuaPattern(s.pattern)}` : `+s${s.pattern}`))]
    : ['0', ...specs.map(s => s.pattern)];
}

const none = (expectedProcessed = 0): FinishSpec => ({ mode: 'none', expectedProcessed });
const reserveOf = (queues: string): ReserveSpec => ({ runAt: RUN_AT, queueArgs: queueArgsFor(queues) });

// ------------------------------------------------------------------------------------------
// Lua working_on() === encodeWorkingOn()
// ------------------------------------------------------------------------------------------

function capturedPayloads(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of [
    'ruby-a-enqueue.json',
    'ruby-a2-json-encoding.json',
    'pyres-a-enqueue-pinterest.json',
    'pyres-a-enqueue-upstream.json',
    'pyres-py2-predicted.json',
    'pyres-c3-bad-payloads.json',
    'ruby-poison.json',
  ]) {
    const fx = loadPayloads(f);
    for (const [q, items] of Object.entries(fx.queues)) items.forEach((raw, i) => out.push([`${f} ${q}[${i}]`, raw]));
  }
  return out;
}

/** Inputs both sides must agree on. */
const AGREED: Array<[string, string]> = [
  ...capturedPayloads(),
  ['Ruby 1.0 and a big int', '{"class":"EncJob","args":[1.0,18446744073709551616,-0.0,1.0e+20]}'],
  ['pyres spaced JSON', '{"class": "testjobs.Echo", "args": [1, "two", {"three": 3}]}'],
  ['JSON with leading/trailing whitespace', ' \t\n{"class":"X","args":[]}\r\n '],
  ['unicode JSON', '{"class":"Ünï","args":["ünïcødé ✓ 😀","\u2028\u2029"]}'],
  ['unicode non-JSON', 'héllo ✓ 😀 \u2028'],
  ['</script> in JSON', '{"class":"X","args":["</script><script>alert(1)</script>"]}'],
  ['</script> non-JSON', '</script><script>alert("x")</script>'],
  ['control chars escaped in JSON', '{"class":"X","args":["\\u0001\\b\\f\\n\\r\\t\\u001f"]}'],
  ['control chars raw, non-JSON', 'ctl:\u0001\u0002\b\f\n\r\t\u001b\u001f:end'],
  ['NUL alone', '\u0000'],
  ['NUL inside non-JSON', 'a\u0000b'],
  ['raw NUL inside a JSON string (invalid JSON)', '{"class":"X","args":["a\u0000b"]}'],
  ["'/' in JSON strings", '{"class":"A/B","args":["http://x/y","a\\/b"]}'],
  ["'/' in non-JSON", 'http://example.com/a//b\\/c\\\\/d/'],
  ['quotes and backslashes, non-JSON', 'he said "hi" \\ bye \\"'],
  ['trailing backslash, non-JSON', 'ends with \\'],
  ['non-JSON word', 'not json'],
  ['{bad json', '{bad json'],
  ['truncated object', '{"class":"X","args":[1,2'],
  ['object with trailing garbage', '{"class":"X","args":[]} trailing'],
  ['two objects', '{}{}'],
  ['trailing comma', '{"class":"X","args":[1,]}'],
  ['single quotes', "{'class':'X'}"],
  ['empty string', ''],
  ['whitespace only', '   '],
  ['null', 'null'],
  ['[1,2]', '[1,2]'],
  ['array of a job', '[{"class":"X","args":[]}]'],
  ['JSON string', '"{\\"class\\":\\"X\\"}"'],
  ['JSON number', '42'],
  ['JSON true', 'true'],
  ['empty object', '{}'],
  ['object, no class', '{"args":[1]}'],
  ['args not an array', '{"class":"X","args":{"a":1}}'],
  ['escaped unicode and surrogate pair', '{"class":"X","args":["\\u00fc\\ud83d\\ude00"]}'],
  ['\\u0000 escape in JSON', '{"class":"X","args":["\\u0000"]}'],
  ['form feed before {', '\f{"class":"X"}'],
  ['vertical tab before {', '\u000b{"class":"X"}'],
  ['NBSP before {', '\u00a0{"class":"X"}'],
  ['BOM before {', '\ufeff{"class":"X"}'],
  ['exponent forms', '{"a":[1E5,1e-5,-0,0.5,-1.5e+300]}'],
  ['duplicate keys', '{"class":"A","class":"B"}'],
  ['long payload', `{"class":"Big","args":["${'x'.repeat(100000)}"]}`],
];

/**
 * Inputs where Redis' Lua cjson and JSON.parse disagree. Each one is a src bug (see the report):
 * cjson.decode accepts these non-JSON texts, so the Lua builder embeds them raw and writes a
 * worker:<id> value that is NOT valid JSON (resque-web and Ruby's Worker#job cannot read it),
 * while encodeWorkingOn embeds them as a JSON string.
 */
const CJSON_TOO_LENIENT: Array<[string, string]> = [
  ['NaN', '{"class":"X","args":[NaN]}'],
  ['Infinity', '{"class":"X","args":[Infinity]}'],
  ['-inf', '{"class":"X","args":[-inf]}'],
  ['hex number', '{"class":"X","args":[0x10]}'],
  ['leading zero', '{"class":"X","args":[01]}'],
  ['leading plus', '{"class":"X","args":[+1]}'],
  ['trailing dot', '{"class":"X","args":[1.]}'],
  ['NUL after the object', '{"class":"X","args":[]}\u0000garbage'],
];

/** Inputs where cjson rejects what JSON.parse accepts: Lua embeds them as a JSON string, still valid JSON. */
const CJSON_STRICTER: Array<[string, string]> = [
  ['lone surrogate escape: JSON.parse accepts, cjson rejects', '{"class":"X","args":["\\ud800"]}'],
  ['nesting deeper than cjson’s 1000 levels', `{"class":"X","args":${'['.repeat(1001)}${']'.repeat(1001)}}`],
];

/**
 * The script runs no JSON parser: what looks like an object ({...}) is embedded as received.
 * So Lua's record equals encodeWorkingOn's, except for object-looking text that is not JSON,
 * which Lua embeds raw and the worker rewrites at once (test/integration/worker.test.ts).
 */
function expectSameOrRepairable(lua: string, raw: string): void {
  const ts = encodeWorkingOn('p10', RUN_AT, raw);
  if (lua === ts) {
    expect(() => JSON.parse(lua)).not.toThrow();
    return;
  }
  expect(/^[ \t\n\r]*\{/.test(raw) && !isJson(raw)).toBe(true);
  expect(lua).toBe(`{"queue":"p10","run_at":"${RUN_AT}","payload":${raw}}`);
}

describe('Lua working-on builder equals encodeWorkingOn', () => {
  it.each(AGREED)('%s', async (_name, raw) => {
    const lua = await store.probeWorkingOn('p10', RUN_AT, raw);
    expectSameOrRepairable(lua, raw);
  });

  it.each([['a/b'], ['qü✓'], ['with "quote"'], ['back\\slash'], ['</script>']])('queue name %s', async q => {
    const raw = '{"class":"X","args":[]}';
    expect(await store.probeWorkingOn(q, RUN_AT, raw)).toBe(encodeWorkingOn(q, RUN_AT, raw));
  });

  it('DEL (0x7f) is written as the byte, as JSON.stringify does', async () => {
    const raw = 'del:\u007f';
    expect(await store.probeWorkingOn('p10', RUN_AT, raw)).toBe(encodeWorkingOn('p10', RUN_AT, raw));
  });

  it.each(CJSON_TOO_LENIENT)('object-looking non-JSON: %s', async (_name, raw) => {
    const lua = await store.probeWorkingOn('p10', RUN_AT, raw);
    expectSameOrRepairable(lua, raw);
  });

  it.each(CJSON_STRICTER)('%s: valid JSON holding the same payload', async (_name, raw) => {
    const lua = await store.probeWorkingOn('p10', RUN_AT, raw);
    expect(() => JSON.parse(lua)).not.toThrow();
    expect(decodeWorkingOn(lua)?.rawPayload).toBe(raw);
  });

  it('the record the reserve script writes is the probe’s record', async () => {
    const raw = '{"class": "testjobs.Echo", "args": [1.0, 18446744073709551616, "</script>/"]}';
    await r.rpush(keys.queue('p10'), raw);
    const got = await store.finishAndReserve(WID, none(), reserveOf('p10'));
    expect(got).toEqual({ status: 'job', queue: 'p10', raw, processed: 0 });
    expect(await r.get(keys.worker(WID))).toBe(encodeWorkingOn('p10', RUN_AT, raw));
  });
});

// ------------------------------------------------------------------------------------------
// finish-and-reserve
// ------------------------------------------------------------------------------------------

describe('finishAndReserve: reserving', () => {
  it('builds queueArgs exactly as the Worker constructor does', async () => {
    for (const q of ['p10,p9', '*', 'p*', '*,!p9', 'p10,*,!p9', 'p1?,[a-c]x']) {
      const w = res.worker({ queues: q, jobs: new JobRegistry() });
      expect(Reflect.get(w, 'queueArgs')).toEqual(queueArgsFor(q));
    }
  });

  it('pops in priority order, restarting at the first queue after every job', async () => {
    await store.enqueue('p9', '{"class":"A","args":[9,1]}');
    await store.enqueue('p9', '{"class":"A","args":[9,2]}');
    await store.enqueue('p10', '{"class":"A","args":[10,1]}');
    const seen: string[] = [];
    let processed = 0;
    for (let i = 0; i < 3; i++) {
      const got = await store.finishAndReserve(WID, { mode: i === 0 ? 'none' : 'success', expectedProcessed: processed }, reserveOf('p10,p9'));
      if (got.status !== 'job') throw new Error(`expected a job, got ${got.status}`);
      seen.push(`${got.queue} ${got.raw}`);
      processed = got.processed;
      // Something arrives in the higher-priority queue while p9 is being worked.
      if (i === 1) await store.enqueue('p10', '{"class":"A","args":[10,2]}');
      if (i === 2) break;
    }
    expect(seen).toEqual(['p10 {"class":"A","args":[10,1]}', 'p9 {"class":"A","args":[9,1]}', 'p10 {"class":"A","args":[10,2]}']);
    const last = await store.finishAndReserve(WID, { mode: 'success', expectedProcessed: processed }, reserveOf('p10,p9'));
    expect(last).toMatchObject({ status: 'job', queue: 'p9', raw: '{"class":"A","args":[9,2]}', processed: 3 });
  });

  it('returns empty when every queue is empty, and writes no worker record', async () => {
    await store.enqueue('other', '{"class":"A","args":[]}');
    expect(await store.finishAndReserve(WID, none(), reserveOf('p10,p9'))).toEqual({ status: 'empty', processed: 0 });
    expect(await r.exists(keys.worker(WID))).toBe(0);
    expect(await r.llen(keys.queue('other'))).toBe(1);
  });

  it('returns done and pops nothing when not asked to reserve', async () => {
    await store.enqueue('p10', '{"class":"A","args":[]}');
    expect(await store.finishAndReserve(WID, none(), null)).toEqual({ status: 'done', processed: 0 });
    expect(await r.llen(keys.queue('p10'))).toBe(1);
  });

  it.each([
    ['true', 'paused'],
    [' TRUE ', 'paused'],
    ['True\n', 'paused'],
    ['false', 'job'],
    ['', 'job'],
    ['yes', 'job'],
  ])('pause-all-workers = %j gives %s', async (value, expected) => {
    await store.enqueue('p10', '{"class":"A","args":[]}');
    await r.set(keys.pauseAll, value);
    const got = await store.finishAndReserve(WID, none(), reserveOf('p10,p9'));
    expect(got.status).toBe(expected);
    expect(await r.llen(keys.queue('p10'))).toBe(expected === 'paused' ? 1 : 0);
    expect(await r.exists(keys.worker(WID))).toBe(expected === 'paused' ? 0 : 1);
  });

  it('a paused reserve still records the finished job', async () => {
    await r.set(keys.pauseAll, 'true');
    await r.set(keys.worker(WID), encodeWorkingOn('p10', RUN_AT, '{"class":"A","args":[]}'));
    const got = await store.finishAndReserve(WID, { mode: 'success', expectedProcessed: 0 }, reserveOf('p10'));
    expect(got).toEqual({ status: 'paused', processed: 1 });
    expect(await r.get(keys.stat('processed'))).toBe('1');
    expect(await r.exists(keys.worker(WID))).toBe(0);
  });

  describe('globs (Ruby 3.0: sorted matches in place, !skip removes)', () => {
    const QUEUES = ['p9', 'p10', 'other', 'alpha', 'p1x'];
    beforeEach(async () => {
      for (const q of QUEUES) await store.enqueue(q, `{"class":"A","args":["${q}"]}`);
    });

    async function drainOrder(spec: string): Promise<string[]> {
      const order: string[] = [];
      let processed = 0;
      let mode: FinishSpec['mode'] = 'none';
      for (;;) {
        const got = await store.finishAndReserve(WID, { mode, expectedProcessed: processed }, reserveOf(spec));
        processed = got.processed;
        if (got.status !== 'job') break;
        order.push(got.queue);
        mode = 'success';
      }
      return order;
    }

    it.each([
      ['*', ['alpha', 'other', 'p10', 'p1x', 'p9']],
      ['p*', ['p10', 'p1x', 'p9']],
      ['*,!p9', ['alpha', 'other', 'p10', 'p1x']],
      ['p9,*,!p1?', ['p9', 'alpha', 'other']],
      ['p1?', ['p10', 'p1x']],
      ['!p9,p*', ['p10', 'p1x']],
      ['other,p*', ['other', 'p10', 'p1x', 'p9']],
    ])('%s', async (spec, expected) => {
      // The TS resolver (used by status and by the CLI) must agree with the Lua one.
      expect(resolveQueues(parseQueueList(spec), QUEUES)).toEqual(expected);
      expect(await drainOrder(spec)).toEqual(expected);
      for (const q of expected) expect(await r.llen(keys.queue(q))).toBe(0);
      for (const q of QUEUES.filter(x => !expected.includes(x))) expect(await r.llen(keys.queue(q))).toBe(1);
    });

    it('a glob sees a queue registered after the worker started', async () => {
      expect(await drainOrder('p*')).toEqual(['p10', 'p1x', 'p9']);
      await store.enqueue('p8', '{"class":"A","args":[]}');
      expect(await drainOrder('p*')).toEqual(['p8']);
    });
  });
});

describe('finishAndReserve: finishing', () => {
  const RAW = '{"class":"A","args":[1.0]}';
  const failureRecord = `{"failed_at":"2026/11/22 22:11:32 UTC","payload":${RAW},"exception":"TypeError","error":"x","backtrace":[],"worker":"${WID}","queue":"p10"}`;

  async function stats(): Promise<Record<string, string | number | null>> {
    return {
      processed: await r.get(keys.stat('processed')),
      processedW: await r.get(keys.stat('processed', WID)),
      failed: await r.get(keys.stat('failed')),
      failedW: await r.get(keys.stat('failed', WID)),
      failedList: await r.llen(keys.failed),
      working: await r.exists(keys.worker(WID)),
    };
  }

  async function reserveOne(): Promise<number> {
    await store.enqueue('p10', RAW);
    const got = await store.finishAndReserve(WID, none(), reserveOf('p10'));
    expect(got.status).toBe('job');
    return got.processed;
  }

  it('success: DEL worker, INCRBY both processed stats', async () => {
    const p = await reserveOne();
    expect(await store.finishAndReserve(WID, { mode: 'success', expectedProcessed: p }, null)).toEqual({ status: 'done', processed: 1 });
    expect(await stats()).toEqual({ processed: '1', processedW: '1', failed: null, failedW: null, failedList: 0, working: 0 });
  });

  it('failure: RPUSH failed, both failed stats, and counts as processed', async () => {
    const p = await reserveOne();
    await store.finishAndReserve(WID, { mode: 'failure', expectedProcessed: p, failureRecord }, null);
    expect(await stats()).toEqual({ processed: '1', processedW: '1', failed: '1', failedW: '1', failedList: 1, working: 0 });
    expect(await r.lindex(keys.failed, 0)).toBe(failureRecord);
  });

  it('dirty exit: RPUSH failed, processed counted, stat:failed not (as Ruby)', async () => {
    const p = await reserveOne();
    await store.finishAndReserve(WID, { mode: 'dirty', expectedProcessed: p, failureRecord }, null);
    expect(await stats()).toEqual({ processed: '1', processedW: '1', failed: null, failedW: null, failedList: 1, working: 0 });
  });

  it.each(['success', 'failure', 'dirty'] as const)('%s sent twice (a script resent after a dropped reply) counts once', async mode => {
    const p = await reserveOne();
    const spec: FinishSpec = { mode, expectedProcessed: p, ...(mode === 'success' ? {} : { failureRecord }) };
    const first = await store.finishAndReserve(WID, spec, null);
    const second = await store.finishAndReserve(WID, spec, null);
    expect(first).toEqual({ status: 'done', processed: 1 });
    expect(second).toEqual({ status: 'done', processed: 1 });
    const s = await stats();
    expect(s.processed).toBe('1');
    expect(s.processedW).toBe('1');
    expect(s.failedList).toBe(mode === 'success' ? 0 : 1);
    expect(s.failed).toBe(mode === 'failure' ? '1' : null);
  });

  it('finish + reserve resent: the second run counts nothing, pops nothing and hands back the held job', async () => {
    const p = await reserveOne();
    await store.enqueue('p10', '{"class":"B","args":[]}');
    await store.enqueue('p10', '{"class":"C","args":[]}');
    const spec: FinishSpec = { mode: 'success', expectedProcessed: p };
    const first = await store.finishAndReserve(WID, spec, reserveOf('p10'));
    expect(first).toEqual({ status: 'job', queue: 'p10', raw: '{"class":"B","args":[]}', processed: 1 });
    const second = await store.finishAndReserve(WID, spec, reserveOf('p10'));
    expect(second).toEqual({ status: 'held', record: encodeWorkingOn('p10', RUN_AT, '{"class":"B","args":[]}'), processed: 1 });
    expect(await r.lrange(keys.queue('p10'), 0, -1)).toEqual(['{"class":"C","args":[]}']);
    expect(await r.get(keys.stat('processed'))).toBe('1');
  });

  it('many finishes in a row each count once', async () => {
    let p = 0;
    for (let i = 0; i < 5; i++) await store.enqueue('p10', `{"class":"A","args":[${i}]}`);
    let got = await store.finishAndReserve(WID, none(p), reserveOf('p10'));
    let jobs = 0;
    while (got.status === 'job') {
      jobs += 1;
      p = got.processed;
      got = await store.finishAndReserve(WID, { mode: 'success', expectedProcessed: p }, reserveOf('p10'));
    }
    expect(jobs).toBe(5);
    expect(got).toEqual({ status: 'empty', processed: 5 });
    expect(await r.get(keys.stat('processed'))).toBe('5');
  });

  it("'held' when worker:<id> already holds a record: nothing is popped", async () => {
    const record = encodeWorkingOn('p9', RUN_AT, '{"class":"Held","args":[1]}');
    await r.set(keys.worker(WID), record);
    await store.enqueue('p10', '{"class":"A","args":[]}');
    expect(await store.finishAndReserve(WID, none(), reserveOf('p10,p9'))).toEqual({ status: 'held', record, processed: 0 });
    expect(await r.llen(keys.queue('p10'))).toBe(1);
    expect(await r.get(keys.worker(WID))).toBe(record);
  });

  it('an item that is not UTF-8 comes with its exact bytes (reserved and held); a UTF-8 one without', async () => {
    const bad = Buffer.concat([Buffer.from('{"class":"A","args":["caf'), Buffer.from([0xe9]), Buffer.from('"]}')]);
    await r.rpush(keys.queue('p10'), bad, Buffer.from('{"class":"A","args":["café"]}'));
    const got = await store.finishAndReserve(WID, none(), reserveOf('p10'));
    expect(got).toMatchObject({ status: 'job', queue: 'p10', raw: '{"class":"A","args":["caf\ufffd"]}' });
    expect(got.status === 'job' && got.bytes).toEqual(bad);
    const held = await store.finishAndReserve(WID, none(), reserveOf('p10'));
    expect(held.status).toBe('held');
    expect(held.status === 'held' && held.recordBytes).toEqual(await r.getBuffer(keys.worker(WID)));
    await r.del(keys.worker(WID));
    const good = await store.finishAndReserve(WID, none(), reserveOf('p10'));
    expect(good).toEqual({ status: 'job', queue: 'p10', raw: '{"class":"A","args":["café"]}', processed: 0 });
    expect('bytes' in good).toBe(false);
  });

  it("'held' wins over pause-all-workers", async () => {
    const record = encodeWorkingOn('p10', RUN_AT, '{"class":"Held","args":[]}');
    await r.set(keys.worker(WID), record);
    await r.set(keys.pauseAll, 'true');
    expect(await store.finishAndReserve(WID, none(), reserveOf('p10'))).toEqual({ status: 'held', record, processed: 0 });
  });
});
