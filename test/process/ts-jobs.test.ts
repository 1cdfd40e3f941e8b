/**
 * A TypeScript job module (issue 13): with a TypeScript loader present (`NODE_OPTIONS="--import
 * tsx"`, as the README says) a `.ts` module given to `--jobs` loads and its jobs run, in a worker
 * and in a master's children; without one, the command fails at start with the one-line hint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { flushTestDb, testDbUrl } from '../support/redisServer';
import { PROJECT_ROOT, killAll, runCli, spawnCli } from '../support/spawn';

let dir = '';
let ledger = '';
let url = '';
let r: Redis;
const JOBS_TS = `import { appendFileSync } from 'node:fs';
import { defineJob } from 'pyres-ts';

interface Size { width: number; height: number }
const area = ({ width, height }: Size): number => width * height;

export const Measure = defineJob(async (id: string, size: Size): Promise<number> => {
  appendFileSync(process.env.PYRES_TEST_LEDGER as string, \`\${id} \${area(size)} \${process.pid}\\n\`);
  return area(size);
});
`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-tsjobs-'));
  ledger = path.join(dir, 'ledger.txt');
  fs.writeFileSync(path.join(dir, 'jobs.ts'), JOBS_TS);
  // The module is an app's: 'pyres-ts' resolves from its node_modules, as after an install.
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(PROJECT_ROOT, path.join(dir, 'node_modules', 'pyres-ts'));
  url = testDbUrl();
  r = new Redis(url);
});
beforeEach(async () => {
  await flushTestDb(url);
  fs.writeFileSync(ledger, '');
});
afterEach(async () => {
  await killAll();
});
afterAll(async () => {
  r.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Run from the project root, where `--import tsx` resolves (an app has tsx in its own node_modules).
const env = (loader: boolean): Record<string, string | undefined> => ({ PYRES_TEST_LEDGER: ledger, NODE_OPTIONS: loader ? '--import tsx' : undefined });

async function push(...jobs: string[]): Promise<void> {
  await r
    .pipeline()
    .sadd('resque:queues', 'tsq')
    .rpush('resque:queue:tsq', ...jobs)
    .exec();
}

describe('a .ts job module', () => {
  it('runs in a worker when a TypeScript loader is present', async () => {
    await push('{"class":"Measure","args":["a",{"width":3,"height":4}]}');
    const res = await runCli(['worker', '--queues', 'tsq', '--jobs', path.join(dir, 'jobs.ts'), '--drain'], { redisUrl: url, env: env(true) }, 30000);
    expect({ code: res.code, stderr: res.code === 0 ? '' : res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(fs.readFileSync(ledger, 'utf8')).toMatch(/^a 12 \d+\n$/);
    expect(await r.llen('resque:failed')).toBe(0);
  });

  it("runs in a master's children (the loader reaches them)", async () => {
    await push('{"class":"Measure","args":["b",{"width":5,"height":5}]}', '{"class":"Measure","args":["c",{"width":2,"height":3}]}');
    const m = spawnCli(['master', '--queues', 'tsq', '--pool', '1', '--jobs', path.join(dir, 'jobs.ts')], { redisUrl: url, env: env(true) });
    await m.waitForLine(/all children registered/, 30000);
    const deadline = Date.now() + 20000;
    while (fs.readFileSync(ledger, 'utf8').split('\n').filter(Boolean).length < 2 && Date.now() < deadline) await new Promise(res => setTimeout(res, 50));
    const lines = fs.readFileSync(ledger, 'utf8').split('\n').filter(Boolean);
    expect(lines.map(l => l.split(' ').slice(0, 2).join(' '))).toEqual(['b 25', 'c 6']);
    // Worked by the child, not the master.
    expect(lines.every(l => Number(l.split(' ')[2]) !== m.pid)).toBe(true);
    m.kill('SIGTERM');
    expect(await m.waitForEnd(15000)).toEqual({ code: 0, signal: null });
  });

  it('without a loader: exit 2 at start with the one-line hint, nothing worked', async () => {
    await push('{"class":"Measure","args":["d",{"width":1,"height":1}]}');
    const res = await runCli(['worker', '--queues', 'tsq', '--jobs', path.join(dir, 'jobs.ts'), '--drain'], { redisUrl: url, env: env(false) }, 30000);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/jobs\.ts.*NODE_OPTIONS="--import tsx"/);
    expect(fs.readFileSync(ledger, 'utf8')).toBe('');
    expect(await r.llen('resque:queue:tsq')).toBe(1);
  });
});
