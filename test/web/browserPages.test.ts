/**
 * Every dashboard page in real Chromium (Debian's, driven by playwright-core; nothing is
 * downloaded), each with a screenshot kept in test/artifacts/ (git-ignored, overwritten per
 * run, as browser.test.ts does): the numbers above the fold at 1280×800, live updates without a
 * reload (a job enqueued after the page loaded appears), the detail views, failure search, the
 * queue actions through the browser's confirm dialog, and the same actions without JavaScript
 * through the server's confirmation page.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { type Env, client, failureRecord, seed, startEnv, stopEnv } from './helpers';

const CHROMIUM = process.env['CHROMIUM_BIN'] ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', 'artifacts');

let env: Env;
let browser: Browser;
let ctx: BrowserContext;
let tmp: string;
const errors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium`);
  env = await startEnv({ liveEvery: 400, sampleHistory: false });
  tmp = mkdtempSync(join(tmpdir(), 'pyres-ts-pages-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await stopEnv(env);
}, 30_000);

beforeEach(() => seed(env.a.url, env.b.url));
const pages: Page[] = [];
afterEach(async () => {
  // a page a failed test left open would go on polling into the next test
  await Promise.all(pages.splice(0).map(p => p.close()));
  expect(errors.splice(0)).toEqual([]);
});

async function open(path: string, c: BrowserContext = ctx): Promise<Page> {
  const page = await c.newPage();
  pages.push(page);
  page.on('pageerror', e => errors.push(e.message));
  page.on('console', m => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${env.web.url}${path}`);
  return page;
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  const p = join(tmp, name);
  await page.screenshot({ path: p, fullPage });
  copyFileSync(p, join(ARTIFACTS, name));
}

/** Marks the document; a reload or navigation would lose the mark. */
async function mark(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as { __sameDocument?: boolean }).__sameDocument = true;
  });
}
async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument === true);
}

/** Waits until app.js has refreshed the live regions `n` more times. */
async function liveTicks(page: Page, n: number): Promise<void> {
  const now = Number((await page.locator('body').getAttribute('data-live-ticks')) ?? 0);
  type Doc = { document: { body: { getAttribute(name: string): string | null } } };
  await page.waitForFunction(k => Number((globalThis as unknown as Doc).document.body.getAttribute('data-live-ticks') ?? 0) >= k, now + n, { timeout: 15_000 });
}

it('overview: the numbers are above the fold at 1280×800, and a job enqueued after load appears without a reload', async () => {
  const page = await open('/');
  const tiles = page.locator('.tiles');
  await tiles.waitFor();
  // measured in one step: a live refresh may swap the element between two calls
  type Doc = { document: { querySelector(s: string): { getBoundingClientRect(): { bottom: number } } | null } };
  const bottom = await page.evaluate(() => (globalThis as unknown as Doc).document.querySelector('.tiles')?.getBoundingClientRect().bottom ?? Number.NaN);
  expect(bottom).toBeGreaterThan(0);
  expect(bottom).toBeLessThanOrEqual(800);
  for (const t of ['queues', 'workers', 'processed', 'failed', 'failures'])
    await expect(page.locator(`[data-tile=${t}] .value`).isVisible()).resolves.toBe(true);
  expect(await page.locator('[data-tile=queues] .value').textContent()).toBe('3');
  expect(await page.locator('[data-tile=processed] .value').textContent()).toBe('15');
  expect(await page.locator('[data-tile=failures] .value').textContent()).toBe('4');
  await shot(page, 'overview-1280x800.png', false);

  await mark(page);
  expect(await page.locator('tr[data-queue="arrivals"]').count()).toBe(0);
  const a = client(env.a.url);
  await a.sadd('resque:queues', 'arrivals');
  await a.rpush('resque:queue:arrivals', '{"class":"LateJob","args":[]}');
  await page.locator('tr[data-queue="arrivals"] td.total', { hasText: '1' }).waitFor({ timeout: 15_000 });
  expect(await page.locator('[data-tile=queues] .value').textContent()).toBe('4');
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'overview-live.png');
  await page.close();
}, 60_000);

it('queues: a queue length changes live', async () => {
  const page = await open('/queues');
  await page.locator('tr[data-queue="p10"] td.total', { hasText: '3' }).waitFor();
  await mark(page);
  await client(env.b.url).rpush('jobs:queue:p10', '{"class":"BJob","args":["c"]}');
  await page.locator('tr[data-queue="p10"] td.total', { hasText: '4' }).waitFor({ timeout: 15_000 });
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'queues.png');
  await page.close();
}, 60_000);

it('a queue: a job pushed after load appears; its detail view; delete it through the confirm dialog', async () => {
  const page = await open('/queues/p10?server=0');
  await page.locator('table.jobs').waitFor();
  await mark(page);
  await client(env.a.url).rpush('resque:queue:p10', '{"class":"Arrived","args":[{"n":1}]}');
  const row = page.locator('table.jobs tr', { hasText: 'Arrived' });
  await row.waitFor({ timeout: 15_000 });
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'queue.png');

  await row.getByRole('link', { name: 'Details' }).click();
  await page.getByRole('heading', { name: 'Job 2 in p10: Arrived' }).waitFor();
  expect(await page.locator('pre.args.pretty').textContent()).toBe(JSON.stringify([{ n: 1 }], null, 2));
  await shot(page, 'job-detail.png');

  page.once('dialog', d => void d.dismiss());
  await page.getByRole('button', { name: 'Delete' }).click();
  await liveTicks(page, 1);
  expect(await client(env.a.url).llen('resque:queue:p10')).toBe(3);
  page.once('dialog', d => void d.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.locator('p.flash.ok').waitFor();
  expect(await page.locator('p.flash.ok').textContent()).toMatch(/^Deleted job 2 \(Arrived\) from p10 on 127\.0\.0\.1:\d+\.$/);
  expect(await client(env.a.url).lrange('resque:queue:p10', 0, -1)).toEqual([
    '{"class":"MixedJob","args":[1,"two",{"three":3}]}',
    '{"class":"MixedJob","args":[2]}',
  ]);
  await page.close();
}, 60_000);

it('workers: a worker that registers after load appears; a worker and its current job in detail', async () => {
  const page = await open('/workers');
  await page.locator('table.workers').waitFor();
  await mark(page);
  const a = client(env.a.url);
  await a.sadd('resque:workers', 'late:4242:p10');
  await a.set('resque:worker:late:4242:p10:started', '2026-12-01 12:00:00 +0000');
  await page.locator('tr[data-worker="late:4242:p10"]').waitFor({ timeout: 15_000 });
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'workers.png');
  await page.locator('tr[data-worker="vm:9413:p9"] a', { hasText: 'vm' }).first().click();
  await page.getByRole('heading', { name: 'Worker vm:9413' }).waitFor();
  expect(await page.locator('.job-now pre.args.pretty').textContent()).toBe(JSON.stringify(['long-running'], null, 2));
  await shot(page, 'worker-detail.png');
  await page.close();
}, 60_000);

it('masters: shown, and updated live', async () => {
  const page = await open('/masters');
  await page.locator('section.master[data-master="hostb:2000"]').waitFor();
  await mark(page);
  const b = client(env.b.url);
  const info = JSON.parse((await b.get('jobs:pyres-ts:master:hostb:2000')) as string) as { paused: boolean };
  await b.set('jobs:pyres-ts:master:hostb:2000', JSON.stringify({ ...info, paused: true }), 'EX', 600);
  await page.locator('section.master[data-master="hostb:2000"] .badge.warn', { hasText: 'paused' }).waitFor({ timeout: 15_000 });
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'masters.png');
  await page.close();
}, 60_000);

it('failed: search by class and text, grouped by exception; a new failure appears live; the failure detail view', async () => {
  await client(env.a.url).rpush(
    'resque:failed',
    failureRecord('Mailer', ['a@x'], 'mail', {
      exception: 'Net::ReadTimeout',
      error: 'timed out reading smtp.example',
      backtrace: ['mailer.rb:1', 'smtp.rb:2'],
    }),
  );
  const page = await open('/failed?server=0');
  await page.locator('form.search').waitFor();
  await page.getByLabel('Exception').fill('Net::ReadTimeout');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('table.groups-by-exception tr[data-exception="Net::ReadTimeout"] td.num', { hasText: '1' }).waitFor();
  expect(await page.locator('li.failure').count()).toBe(1);
  await mark(page);
  await client(env.a.url).rpush('resque:failed', failureRecord('Mailer', ['b@x'], 'mail', { exception: 'Net::ReadTimeout' }));
  await page.locator('table.groups-by-exception tr[data-exception="Net::ReadTimeout"] td.num', { hasText: '2' }).waitFor({ timeout: 15_000 });
  expect(await page.locator('li.failure').count()).toBe(2);
  expect(await sameDocument(page)).toBe(true);
  await shot(page, 'failed-search.png');

  await page.locator('li.failure', { hasText: 'a@x' }).getByRole('link', { name: 'Details' }).click();
  await page.getByRole('heading', { name: /^Failure \d+: Mailer$/ }).waitFor();
  expect(await page.locator('pre.backtrace').textContent()).toBe('mailer.rb:1\nsmtp.rb:2');
  expect(await page.locator('pre.args.pretty').textContent()).toBe(JSON.stringify(['a@x'], null, 2));
  await shot(page, 'failure-detail.png');
  await page.close();
}, 60_000);

it('stats: the history chart drawn from Redis', async () => {
  const t0 = Date.now() - 10 * 60_000;
  await client(env.a.url).rpush(
    'resque:pyres-ts:stats:history',
    ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ t: t0 + i * 60_000, processed: i * i * 10, failed: i })),
  );
  const page = await open('/stats');
  await page.locator('.chart.history polyline.series-p').waitFor();
  await shot(page, 'stats.png');
  await page.close();
}, 60_000);

it('without JavaScript: the page is as served, and a queue action asks on a page of its own', async () => {
  const noJs = await browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: false });
  try {
    const page = await open('/queues/p10?server=0', noJs);
    await page.getByRole('button', { name: 'Clear queue' }).click();
    await page.getByRole('heading', { name: 'Are you sure?' }).waitFor();
    expect(await page.locator('.confirm-question').textContent()).toMatch(/^Delete every job in p10 on 127\.0\.0\.1:\d+ \(2 now\)\? The queue stays listed\.$/);
    expect(await client(env.a.url).llen('resque:queue:p10')).toBe(2);
    await shot(page, 'confirm-no-js.png');
    await page.getByRole('button', { name: 'Clear the queue' }).click();
    await page.locator('p.flash.ok').waitFor();
    expect(await page.locator('p.flash.ok').textContent()).toMatch(/^Cleared p10 on 127\.0\.0\.1:\d+: 2 jobs deleted\.$/);
    expect(await client(env.a.url).llen('resque:queue:p10')).toBe(0);
    await page.close();
  } finally {
    await noJs.close();
  }
}, 60_000);

it('under --base-path: assets, the live chart and live updates work under the prefix', async () => {
  const mounted = await startEnv({ liveEvery: 400, sampleHistory: false, basePath: '/resque' });
  try {
    const page = await ctx.newPage();
    pages.push(page);
    page.on('pageerror', e => errors.push(e.message));
    page.on('console', m => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${mounted.web.url}`);
    await page.locator('.tiles').waitFor();
    // a flat line (nothing processed) has no height: attached, not visible
    await page.locator('#live-chart polyline.series-p').waitFor({ state: 'attached', timeout: 15_000 });
    await client(mounted.a.url).rpush('resque:queue:p9', '{"class":"Late","args":[]}');
    await page.locator('tr[data-queue="p9"] td.total', { hasText: '1' }).waitFor({ timeout: 15_000 });
    await page.getByRole('link', { name: 'Queues', exact: true }).click();
    await page.waitForURL(/\/resque\/queues$/);
    await shot(page, 'base-path-queues.png');
  } finally {
    await stopEnv(mounted);
  }
}, 60_000);
