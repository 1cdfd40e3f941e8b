import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESQUE_PROTOCOL_VERSION, VERSION } from '../../src/version';

test('VERSION equals package.json version', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  expect(VERSION).toBe(pkg.version);
});

test('the Resque protocol version is 3.0.0 (process titles read resque-3.0.0)', () => {
  expect(RESQUE_PROTOCOL_VERSION).toBe('3.0.0');
});
