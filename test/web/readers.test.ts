/**
 * Issue 10, item 9: one malformed master record (`<ns>:pyres-ts:master:<id>`) must not take
 * down /masters, nor the worker→master column of /workers and the overview. It is skipped,
 * and the page says so; the good records of every server still show.
 */
import { MASTER_ID, MASTER_INFO, Session, client, seed, startEnv, stopEnv, type Env } from './helpers';

const BAD_ID = 'hostz:6666';

const JUNK: Array<[string, string, RegExp]> = [
  ['not JSON', '{"id":"hostz:6666",', /not valid JSON/],
  ['JSON null', 'null', /not a JSON object/],
  ['a JSON array', '[1,2,3]', /not a JSON object/],
  ['a JSON string', '"hello"', /not a JSON object/],
  ['no id', JSON.stringify({ ...MASTER_INFO, id: 42 }), /no id/],
  ['groups not a list', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, groups: 'p10=2' }), /groups/],
  ['children an object', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, children: { a: 1 } }), /children/],
  ['children a number', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, children: 5 }), /children/],
  ['a null group', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, groups: [null] }), /group 0/],
  ['a null child', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, children: [null] }), /child 0/],
  ['a child without a worker id', JSON.stringify({ ...MASTER_INFO, id: BAD_ID, children: [{ pid: 1 }] }), /child 0/],
  // String() of this object throws: a naive template would answer 500.
  [
    'a field that cannot be shown',
    JSON.stringify({ ...MASTER_INFO, id: BAD_ID, version: { toString: 1 }, groups: [{ ...MASTER_INFO.groups[0], queues: 'g', desired: { valueOf: 1 } }] }),
    /group 0/,
  ],
];

describe('a malformed master record', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(() => stopEnv(env));
  beforeEach(() => seed(env.a.url, env.b.url));

  /** Puts a bad record on server A (resque) next to B's good one. */
  async function plant(raw: string): Promise<void> {
    const a = client(env.a.url);
    await a.sadd('resque:pyres-ts:masters', BAD_ID);
    await a.set(`resque:pyres-ts:master:${BAD_ID}`, raw, 'EX', 600);
  }

  it.each(JUNK)('%s: /masters shows the others and a note naming the server and the record', async (_what, raw, reason) => {
    await plant(raw);
    const s = new Session(env.web.url);
    const r = await s.get('/masters');
    expect(r.status).toBe(200);
    // B's master is all there
    expect(r.text).toContain(`<section class="master" id="${MASTER_ID}"`);
    expect(r.text).toContain('<code>hostb:2001:other</code>');
    // A's bad one is not, and the page says why
    expect(r.text).not.toContain(`data-master="${BAD_ID}"`);
    const note = /<div class="unreadable-notice" role="status" data-server="0">([\s\S]*?)<\/div>/.exec(r.text);
    expect(note).not.toBeNull();
    expect(note![1]).toContain(`1 master record on 127.0.0.1:${env.a.port} could not be read`);
    expect(note![1]).toContain(BAD_ID);
    expect(note![1]).toMatch(reason);
    expect(r.text).not.toContain('down-notice');
  });

  it.each(JUNK)('%s: /workers and the overview still map workers to masters', async (_what, raw) => {
    await plant(raw);
    const s = new Session(env.web.url);
    for (const [path, count] of [
      ['/workers', '<b>3</b> workers, <b>2</b> working.'],
      ['/', '2 of 3 workers working'],
    ]) {
      const r = await s.get(path as string);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain('down-notice');
      expect(r.text).toContain(count);
    }
    const w = await s.get('/workers');
    expect(w.text).toContain(`<a href="/masters#${MASTER_ID}">${MASTER_ID}</a>`);
  });

  it('two bad records on one server and a good one beside them: "2 master records", the good one shown', async () => {
    const a = client(env.a.url);
    await a.sadd('resque:pyres-ts:masters', 'x:1', 'x:2', 'hosta:3000');
    await a.set('resque:pyres-ts:master:x:1', 'nope');
    await a.set('resque:pyres-ts:master:x:2', '[]');
    await a.set('resque:pyres-ts:master:hosta:3000', JSON.stringify({ ...MASTER_INFO, id: 'hosta:3000', host: 'hosta', pid: 3000, children: [] }));
    const r = await new Session(env.web.url).get('/masters');
    expect(r.status).toBe(200);
    expect(r.text).toContain('2 master records on 127.0.0.1');
    expect(r.text).toContain('data-master="hosta:3000"');
    expect(r.text).toContain(`data-master="${MASTER_ID}"`);
  });

  it('a record with odd display fields (another version) is shown, the odd fields as unknown', async () => {
    const a = client(env.a.url);
    await a.sadd('resque:pyres-ts:masters', 'hostv:7');
    await a.set(
      'resque:pyres-ts:master:hostv:7',
      JSON.stringify({
        ...MASTER_INFO,
        id: 'hostv:7',
        version: 2,
        startedAt: null,
        paused: 'yes',
        autoscale: 'on',
        extra: { x: 1 },
        children: [{ workerId: 'hostv:8:q', job: 'busy' }],
      }),
    );
    const r = await new Session(env.web.url).get('/masters');
    expect(r.status).toBe(200);
    expect(r.text).toContain('data-master="hostv:7"');
    expect(r.text).toContain('pyres-ts ?');
    expect(r.text).toContain('<code>hostv:8:q</code>');
    expect(r.text).not.toContain('unreadable-notice');
  });

  it('a command to a master next to a bad record still goes out; none goes to the bad one', async () => {
    await plant('{"id":');
    const s = new Session(env.web.url);
    await s.get('/masters');
    let r = await s.act('/masters/command', { server: 1, master: MASTER_ID, cmd: 'pause' });
    expect(r.text).toContain(`Sent pause to ${MASTER_ID}.`);
    r = await s.act('/masters/command', { server: 0, master: BAD_ID, cmd: 'pause' });
    expect(r.text).toContain(`no master &quot;${BAD_ID}&quot;`);
    expect(await client(env.a.url).llen(`resque:pyres-ts:master:${BAD_ID}:commands`)).toBe(0);
  });
});

describe('a crash loop on the masters page', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(() => stopEnv(env));
  beforeEach(() => seed(env.a.url, env.b.url));

  it("shows a group's crash loop with its count and reason, escaped", async () => {
    const a = client(env.a.url);
    const info = {
      ...MASTER_INFO,
      id: 'hostc:7777',
      groups: [
        {
          ...MASTER_INFO.groups[0],
          queues: 'broken',
          lastCrash: { reason: '--worker-init ./init.js failed: <b>db</b> down', count: 4, at: new Date().toISOString() },
        },
      ],
    };
    await a.sadd('resque:pyres-ts:masters', info.id);
    await a.set(`resque:pyres-ts:master:${info.id}`, JSON.stringify(info), 'EX', 600);
    const r = await new Session(env.web.url).get('/masters');
    expect(r.status).toBe(200);
    const row = /<tr class="crash">([\s\S]*?)<\/tr>/.exec(r.text);
    expect(row).not.toBeNull();
    expect(row![1]).toContain('crash loop');
    expect(row![1]).toContain('<code>broken</code>: 4 in a row');
    expect(row![1]).toContain('--worker-init ./init.js failed: &lt;b&gt;db&lt;/b&gt; down');
  });
});
