import { nodeSetsSemiSpace } from '../../src/cli/semiSpace';
import * as path from 'node:path';
import { resolveMasterConfig } from '../../src/config/master';
import { DEFAULT_SEMI_SPACE_MB, resolveSemiSpaceMb } from '../../src/config/worker';

const ROOT = path.resolve(__dirname, '..', '..');
const master = (over: Record<string, unknown>) => resolveMasterConfig({ queues: 'q', jobs: ['fixtures/jobs/basic.js'], cwd: ROOT, ...over });

describe('--max-semi-space-mb', () => {
  it('defaults to 8 MB; accepts whole numbers 0..256 (numeric strings from the environment too)', () => {
    expect(DEFAULT_SEMI_SPACE_MB).toBe(8);
    expect(resolveSemiSpaceMb(undefined)).toBe(8);
    expect(resolveSemiSpaceMb(0)).toBe(0);
    expect(resolveSemiSpaceMb('16')).toBe(16);
    expect(resolveSemiSpaceMb(256)).toBe(256);
  });

  it.each([-1, 1.5, 257, 'abc', NaN, true])('rejects %p naming the flag', v => {
    expect(() => resolveSemiSpaceMb(v)).toThrow(/^maxSemiSpaceMb \(--max-semi-space-mb\) must be a whole number of 0 or more and at most 256, got /);
  });

  it("sees Node's own --max-semi-space-size or --semi-space-growth-factor on the command line or in NODE_OPTIONS, in either spelling", () => {
    expect(nodeSetsSemiSpace([], '')).toBe(false);
    expect(nodeSetsSemiSpace(['--max-old-space-size=100'], '--enable-source-maps')).toBe(false);
    expect(nodeSetsSemiSpace(['--max-semi-space-size=2'], '')).toBe(true);
    expect(nodeSetsSemiSpace([], '--enable-source-maps --max_semi_space_size=4')).toBe(true);
    expect(nodeSetsSemiSpace([], '--max-semi-space-size-x=4')).toBe(false);
    expect(nodeSetsSemiSpace(['--semi-space-growth-factor=4'], '')).toBe(true);
  });

  it("a master's maxSemiSpaceMb is each child's --max-semi-space-size: in place of the default's, after other child options; 0 drops it", () => {
    expect(master({}).childNodeOptions).toEqual(['--max-semi-space-size=1']);
    expect(master({ maxSemiSpaceMb: 4 }).childNodeOptions).toEqual(['--max-semi-space-size=4']);
    expect(master({ maxSemiSpaceMb: 0 }).childNodeOptions).toEqual([]);
    expect(master({ maxSemiSpaceMb: 8, childNodeOptions: '--enable-source-maps' }).childNodeOptions).toEqual([
      '--enable-source-maps',
      '--max-semi-space-size=8',
    ]);
    expect(() => master({ maxSemiSpaceMb: 8, childNodeOptions: '--max_semi_space_size=2' })).toThrow(
      /^maxSemiSpaceMb \(--max-semi-space-mb\) and childNodeOptions \(--child-node-options\) both set the children's --max-semi-space-size: give one$/,
    );
    expect(() => master({ maxSemiSpaceMb: -1 })).toThrow(/^maxSemiSpaceMb \(--max-semi-space-mb\) must be/);
  });
});
