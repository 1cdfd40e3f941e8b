/** `pyres-ts web --base-path`: parsed, checked (one line naming the flag), and served under. */
import yargs from 'yargs';
import { type WebArgs, runWeb, webBuilder } from '../../src/cli/webCommand';
import { ConfigError } from '../../src/errors';
import { flushTestDb, testDbUrl } from '../support/redisServer';

const url = testDbUrl();
beforeEach(() => flushTestDb(url));
afterAll(() => flushTestDb(url));

it('serves every page under --base-path and says so in its URL', async () => {
  const args = (await webBuilder(yargs([])).parseAsync([
    '--dsn',
    url,
    '--web-port',
    '0',
    '--base-path',
    '/resque',
    '--log-level',
    'error',
  ])) as unknown as WebArgs;
  expect(args['base-path']).toBe('/resque');
  const stop = new AbortController();
  let listening = '';
  const done = runWeb(args, { env: {}, signal: stop.signal, onListening: u => (listening = u) });
  for (let i = 0; i < 200 && !listening; i++) await new Promise(r => setTimeout(r, 20));
  expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/resque$/);
  const r = await fetch(`${listening}/queues`);
  expect(r.status).toBe(200);
  const text = await r.text();
  expect(text).toContain('<link rel="stylesheet" href="/resque/assets/app.css">');
  expect(text).toContain('<a class="brand" href="/resque">');
  stop.abort();
  await expect(done).resolves.toBe(0);
});

it('refuses a bad --base-path before connecting to anything', async () => {
  const args = (await webBuilder(yargs([])).parseAsync([
    '--dsn',
    url,
    '--web-port',
    '0',
    '--base-path',
    'resque',
    '--log-level',
    'error',
  ])) as unknown as WebArgs;
  const run = runWeb(args, { env: {} });
  await expect(run).rejects.toThrow(ConfigError);
  await expect(run).rejects.toThrow('--base-path must be a URL path like /resque (segments of letters, digits, . _ ~ -), got "resque"');
});
