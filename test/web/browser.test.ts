/**
 * A real browser (Debian's headless Chromium, driven by playwright-core with the system
 * executable; playwright never downloads one): open the dashboard, watch the live chart draw,
 * retry a failed job and see it leave the failed list and appear in its queue. Screenshots are
 * saved under os.tmpdir() and copied to test/artifacts/.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { type Env, client, startEnv, stopEnv } from './helpers';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts');
const TMP_ARTIFACTS = join(tmpdir(), 'pyres-ts-web-artifacts');

let env: Env;
let ctx: BrowserContext | undefined;
let profile: string;
let ticker: NodeJS.Timeout | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium`);
  env = await startEnv();
  // An XSS attempt among the failures: it must show as text and never run.
  await client(env.a.url).rpush(
    'resque:failed',
    JSON.stringify({
      failed_at: '2026/11/22 22:20:00 UTC',
      payload: { class: 'Evil<script>window.__pwned=1</script>', args: ['<img src=x onerror="window.__pwned=2">'] },
      exception: 'RuntimeError',
      error: 'boom <script>window.__pwned=3</script>',
      backtrace: [],
      worker: 'vm:1:p10',
      queue: 'p10',
    }),
  );
  profile = mkdtempSync(join(tmpdir(), 'pyres-ts-chromium-'));
  mkdirSync(TMP_ARTIFACTS, { recursive: true });
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
}, 60_000);

afterAll(async () => {
  if (ticker) clearInterval(ticker);
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stopEnv(env);
}, 30_000);

function saveArtifact(name: string): string {
  const src = join(TMP_ARTIFACTS, name);
  mkdirSync(ARTIFACTS, { recursive: true });
  copyFileSync(src, join(ARTIFACTS, name));
  return src;
}

it('shows the dashboard, draws the live chart, and retries a failed job from the browser', async () => {
  const page = await ctx!.newPage();
  const errors: string[] = [];
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('response', r => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });

  // Jobs are processed while we watch: the chart must show a rate.
  const a = client(env.a.url);
  ticker = setInterval(() => {
    void a.incrby('resque:stat:processed', 5).catch(() => undefined);
    void a.incrby('resque:stat:failed', 1).catch(() => undefined);
  }, 250);

  await page.goto(`${env.web.url}/`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByRole('cell', { name: 'server-b' }).first().waitFor();
  await page.locator('#live-chart polyline.series-p').waitFor({ timeout: 15_000 });
  for (const deadline = Date.now() + 20_000; Number(await page.locator('#live-chart').getAttribute('data-samples')) < 4; ) {
    if (Date.now() > deadline) throw new Error('the live chart did not collect 4 samples in 20 s');
    await page.waitForTimeout(250);
  }
  await expect(page.locator('#live-chart .legend .p').textContent()).resolves.toMatch(/^processed\/s \d/);
  await page.screenshot({ path: join(TMP_ARTIFACTS, 'overview.png'), fullPage: true });
  saveArtifact('overview.png');
  clearInterval(ticker);
  ticker = undefined;

  // Failed page, server-b's tab: one BFail failure.
  await page.getByRole('link', { name: 'Failed', exact: true }).click();
  await page.getByRole('heading', { name: 'Failed jobs' }).waitFor();
  await page.locator('nav.tabs a', { hasText: 'server-b' }).click();
  const item = page.locator('li.failure', { hasText: 'BFail' });
  await item.waitFor();
  await page.screenshot({ path: join(TMP_ARTIFACTS, 'failed-before-retry.png'), fullPage: true });
  saveArtifact('failed-before-retry.png');
  await item.getByRole('button', { name: 'Retry' }).click();
  await page.locator('p.flash.ok').waitFor();
  expect(await page.locator('p.flash.ok').textContent()).toBe('Retried failure 0: the job is back on other.');
  // It left the (not-retried) failed list...
  expect(await page.locator('li.failure', { hasText: 'BFail' }).count()).toBe(0);
  await page.screenshot({ path: join(TMP_ARTIFACTS, 'failed-after-retry.png'), fullPage: true });
  saveArtifact('failed-after-retry.png');
  // ...and is under "Retried", marked as such.
  await page.locator('nav.filter a[href*="show=retried"]').click();
  await page.locator('li.failure.retried', { hasText: 'BFail' }).waitFor();

  // It appears in its queue on server-b.
  await page.goto(`${env.web.url}/queues/other?server=1`);
  const jobs = page.locator('table.jobs');
  await jobs.waitFor();
  expect(await jobs.textContent()).toContain('{"class":"BFail","args":["x"]}');
  await page.screenshot({ path: join(TMP_ARTIFACTS, 'queue-after-retry.png'), fullPage: true });
  saveArtifact('queue-after-retry.png');
  expect(await client(env.b.url).lrange('jobs:queue:other', 0, -1)).toEqual(['{"class":"OtherJob","args":[]}', '{"class":"BFail","args":["x"]}']);

  // "Retry all" asks first (app.js); dismissing sends nothing, accepting retries server A's.
  await page.goto(`${env.web.url}/failed?server=0`);
  const before = await a.llen('resque:queue:p10');
  page.once('dialog', d => void d.dismiss());
  await page.getByRole('button', { name: 'Retry all not yet retried' }).click();
  await page.waitForTimeout(300);
  expect(await a.llen('resque:queue:p10')).toBe(before);
  page.once('dialog', d => void d.accept());
  await page.getByRole('button', { name: 'Retry all not yet retried' }).click();
  await page.locator('p.flash.ok').waitFor();
  expect(await page.locator('p.flash.ok').textContent()).toMatch(/^Retried 4 failures on 127\.0\.0\.1:\d+; 0 already retried \(skipped\)\.$/);

  // The XSS attempt was shown as text and never ran.
  await page.goto(`${env.web.url}/failed?server=0&show=all`);
  await page.locator('li.failure', { hasText: 'Evil<script>' }).waitFor();
  expect(await page.evaluate(() => typeof (globalThis as { __pwned?: unknown }).__pwned)).toBe('undefined');
  expect(errors).toEqual([]);
  await page.close();
}, 90_000);
