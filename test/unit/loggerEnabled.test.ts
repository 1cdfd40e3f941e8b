/**
 * Logger.isEnabled says whether a line at a level would be written, so that callers (the
 * worker's per-job debug line) skip building lines nobody reads; it agrees with what is written.
 */
import { createLogger, type LogLevel, silentLogger } from '../../src/logging/logger';
import { LogRing, withRing } from '../../src/logging/ring';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

describe.each(['text', 'json'] as const)('%s logger', format => {
  test.each(LEVELS)('at level %s: isEnabled(l) is exactly "a line at l is written", for the logger and its children', min => {
    const lines: string[] = [];
    const root = createLogger({ format, level: min, write: l => void lines.push(l) });
    for (const log of [root, root.child('w', { workerId: 'w' }).child('Job')]) {
      for (const l of LEVELS) {
        const before = lines.length;
        log[l]('x');
        expect(log.isEnabled?.(l)).toBe(lines.length > before);
      }
    }
  });
});

test('the silent logger writes nothing at any level; a ring logger is enabled where it or its inner logger writes', () => {
  for (const l of LEVELS) expect(silentLogger.isEnabled?.(l)).toBe(false);
  const ring = new LogRing(10, 60);
  const inner = createLogger({ level: 'warn', write: () => undefined });
  const log = withRing(inner, ring, 'info').child('x');
  expect(LEVELS.map(l => log.isEnabled?.(l))).toEqual([false, true, true, true]);
  const noCheck = withRing({ ...silentLogger, isEnabled: undefined, child: () => silentLogger }, ring, 'error');
  // An inner logger without isEnabled is taken to write every level.
  expect(noCheck.isEnabled?.('debug')).toBe(true);
});
