/**
 * jobs/load: a module that fails to load is reported with its file and line; verifyModules
 * checks job and init modules in a short-lived subprocess (dist/jobs/checkMain.js: npm test
 * builds it first). Temp modules in os.tmpdir(); no Redis.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JobLoadError } from '../../src/errors';
import { checkEntry, describeLoadError, loaderExecArgv, TS_LOADER_HINT, verifyModules } from '../../src/jobs/load';

let dir = '';
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyres-load-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function loadError(p: Promise<void>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JobLoadError);
    return (e as Error).message;
  }
  throw new Error('expected a JobLoadError');
}

describe('verifyModules', () => {
  it('the check entry is the built dist/jobs/checkMain.js', () => {
    expect(checkEntry()).toBe(path.resolve(__dirname, '..', '..', 'dist', 'jobs', 'checkMain.js'));
    expect(fs.existsSync(checkEntry())).toBe(true);
  });

  it('passes for good CommonJS and ESM job modules and an init module, without running init', async () => {
    const marker = path.join(dir, 'init-ran');
    const jobs = [file('ok.js', 'exports.Echo = { perform() {} };\n'), file('ok.mjs', 'export class Archive { perform() {} }\n')];
    const init = file('init.js', `module.exports = () => require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
    await expect(verifyModules(jobs, init)).resolves.toBeUndefined();
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a CommonJS syntax error: file and line', async () => {
    const p = file('bad.js', 'exports.A = { perform() {} };\n\nfunction ( {\n');
    expect(await loadError(verifyModules([p], null))).toMatch(new RegExp(`^--jobs ${esc(p)}: SyntaxError at ${esc(p)}:3: .+`));
  });

  it('a syntax error in a module the job module requires: that file and line', async () => {
    const inner = file('inner.js', 'const x = ;\n');
    const outer = file('outer.js', "require('./inner.js');\nexports.A = { perform() {} };\n");
    expect(await loadError(verifyModules([outer], null))).toMatch(new RegExp(`^--jobs ${esc(outer)}: SyntaxError at ${esc(inner)}:1: `));
  });

  it('an ESM syntax error (no location in the stack): node --check finds the line', async () => {
    const p = file('bad.mjs', 'export const A = () => {};\nexport const B = 1;\nconst x = ;\n');
    expect(await loadError(verifyModules([p], null))).toMatch(new RegExp(`^--jobs ${esc(p)}: SyntaxError at ${esc(p)}:3: `));
  });

  it('a --worker-init with a syntax error is named as such', async () => {
    const ok = file('ok2.js', 'exports.Echo = { perform() {} };\n');
    const init = file('badinit.mjs', 'const y = ;\nexport default () => {};\n');
    expect(await loadError(verifyModules([ok], init))).toMatch(new RegExp(`^--worker-init ${esc(init)}: SyntaxError at ${esc(init)}:1: `));
  });

  it('a module that throws at load: the error and where', async () => {
    const p = file('throws.js', "\n\nthrow new RangeError('no config');\n");
    expect(await loadError(verifyModules([p], null))).toBe(`--jobs ${p}: failed to load: RangeError: no config (at ${p}:3)`);
  });

  it('a module without jobs, a missing file, a missing import', async () => {
    const none = file('none.js', 'exports.x = 1;\n');
    expect(await loadError(verifyModules([none], null))).toMatch(/: exports no job/);
    expect(await loadError(verifyModules([path.join(dir, 'nope.js')], null))).toMatch(/: no such file/);
    const imp = file('imp.mjs', "import './absent.mjs';\nexport const A = () => {};\n");
    expect(await loadError(verifyModules([imp], null))).toMatch(/failed to load: Cannot find module .*absent\.mjs/);
  });

  it('a .ts job module without a TypeScript loader: a one-line hint', async () => {
    const p = file('job.ts', 'export class A { perform(n: number): void {} }\n');
    const msg = await loadError(verifyModules([p], null));
    expect(msg).toBe(`--jobs ${p}: ${TS_LOADER_HINT}`);
    expect(msg).toContain('NODE_OPTIONS="--import tsx"');
  });

  it('a module that exits the process, or hangs past the timeout', async () => {
    const exits = file('exits.js', 'exports.A = { perform() {} };\nprocess.exit(3);\n');
    expect(await loadError(verifyModules([exits], null))).toMatch(/exited with code 3 before it reported/);
    const hangs = file('hangs.mjs', 'await new Promise(r => setTimeout(r, 60000));\nexport const A = () => {};\n');
    const t0 = Date.now();
    expect(await loadError(verifyModules([hangs], null, undefined, 1000))).toMatch(/took over 1 s/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('job module stdout does not confuse the result', async () => {
    const p = file('noisy.js', 'console.log(\'{"ok":false}\');\nexports.A = { perform() {} };\n');
    await expect(verifyModules([p], null)).resolves.toBeUndefined();
  });
});

describe('describeLoadError', () => {
  it('reads the location from a CommonJS SyntaxError stack', () => {
    const e = new SyntaxError('Unexpected token )');
    e.stack = '/app/jobs/x.js:12\n  foo())\n      ^\n\nSyntaxError: Unexpected token )\n    at wrapSafe (node:internal/modules/cjs/loader:1464:18)';
    expect(describeLoadError(e, '/app/jobs/x.js')).toBe('SyntaxError at /app/jobs/x.js:12: Unexpected token )');
  });

  it('an ERR_UNKNOWN_FILE_EXTENSION for .ts is the loader hint', () => {
    const e = Object.assign(new TypeError('Unknown file extension ".ts" for /a/b.ts'), { code: 'ERR_UNKNOWN_FILE_EXTENSION' });
    expect(describeLoadError(e, '/a/b.ts')).toBe(TS_LOADER_HINT);
  });
});

describe('loaderExecArgv', () => {
  it('keeps loaders and experimental flags, never -e/-p, --inspect or --test', () => {
    expect(
      loaderExecArgv(['-e', 'code()', '--import', 'tsx', '--inspect=9229', '-r', 'x', '--experimental-vm-modules', '--test', '--conditions=dev', '-p', '1']),
    ).toEqual(['--import', 'tsx', '-r', 'x', '--experimental-vm-modules', '--conditions=dev']);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
