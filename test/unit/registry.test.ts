import { ConfigError, UnknownJobClassError } from '../../src/errors';
import { JobRegistry, currentJob } from '../../src/jobs/registry';
import { defineJob, isDeclaredJob } from '../../src/jobs/define';
import type { JobContext } from '../../src/jobs/registry';
import type { Logger } from '../../src/logging/logger';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function makeContext(className: string): JobContext {
  return {
    queue: 'p10',
    workerId: 'vm:1:p10',
    className,
    payload: { class: className, args: [] },
    raw: `{"class":${JSON.stringify(className)},"args":[]}`,
    rawArgs: '[]',
    signal: new AbortController().signal,
    logger: silent,
  };
}

const job = () => ({ perform: jest.fn((..._args: unknown[]) => 'done') });

describe('JobRegistry name matching', () => {
  test('exact name', async () => {
    const archive = job();
    const r = new JobRegistry().register('Archive', archive);
    const resolved = r.resolve('Archive');
    expect(resolved.name).toBe('Archive');
    await expect(resolved.invoke([1, 'two', { three: 3 }], makeContext('Archive'))).resolves.toBe('done');
    expect(archive.perform).toHaveBeenCalledWith(1, 'two', { three: 3 });
  });

  test('dotted pyres name and Ruby name match a registered last segment', () => {
    const r = new JobRegistry().register('Archive', job());
    expect(r.resolve('a.b.Archive').name).toBe('Archive');
    expect(r.resolve('testjobs.Archive').name).toBe('Archive');
    expect(r.resolve('A::Archive').name).toBe('Archive');
    expect(r.resolve('MyApp::Jobs::Archive').name).toBe('Archive');
    expect(r.has('myapp.jobs.Archive')).toBe(true);
  });

  test('names are case-sensitive and must match a whole segment', () => {
    const r = new JobRegistry().register('Archive', job());
    expect(() => r.resolve('archive')).toThrow(UnknownJobClassError);
    expect(() => r.resolve('a.MyArchive')).toThrow(UnknownJobClassError);
    expect(() => r.resolve('a.Archive2')).toThrow(UnknownJobClassError);
  });

  test('an exact match wins over last-segment candidates', () => {
    const a = job();
    const b = job();
    const r = new JobRegistry().register('a.Archive', a).register('b.Archive', b);
    expect(r.resolve('a.Archive').name).toBe('a.Archive');
    expect(r.resolve('b.Archive').name).toBe('b.Archive');
  });

  test('ambiguity: two registered names with the same last segment -> UnknownJobClassError', () => {
    const r = new JobRegistry().register('a.Archive', job()).register('b.Archive', job());
    for (const name of ['c.Archive', 'Archive', 'X::Archive']) {
      let err: unknown;
      try {
        r.resolve(name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnknownJobClassError);
      expect((err as UnknownJobClassError).className).toBe(name);
      expect(r.has(name)).toBe(false);
    }
    const r2 = new JobRegistry().register('Archive', job()).register('MyApp::Archive', job());
    expect(r2.resolve('Archive').name).toBe('Archive');
    expect(() => r2.resolve('other.Archive')).toThrow(UnknownJobClassError);
  });

  test('unknown class: the error names the class and lists what is registered', () => {
    const r = new JobRegistry().register('Echo', job()).register('Archive', job());
    expect(() => r.resolve('NoSuchJob')).toThrow(UnknownJobClassError);
    expect(() => r.resolve('NoSuchJob')).toThrow(/"NoSuchJob".*Archive, Echo/);
    expect(() => new JobRegistry().resolve('NoSuchJob')).toThrow(/--jobs/);
    expect(r.names()).toEqual(['Archive', 'Echo']);
  });

  test('register rejects an empty name and something that is not a job', () => {
    expect(() => new JobRegistry().register('', job())).toThrow(ConfigError);
    expect(() => new JobRegistry().register('X', {} as never)).toThrow(ConfigError);
    expect(() => new JobRegistry().register('X', 42 as never)).toThrow(ConfigError);
  });
});

describe('JobRegistry invocation', () => {
  test('a class export is instantiated per job and gets this.context', async () => {
    const seen: Array<{ ctx: JobContext | undefined; args: unknown[]; self: unknown }> = [];
    class Archive {
      context?: JobContext;
      perform(...args: unknown[]): string {
        seen.push({ ctx: this.context, args, self: this });
        return 'archived';
      }
    }
    const r = new JobRegistry().register('Archive', Archive);
    const ctx = makeContext('myapp.Archive');
    await expect(r.resolve('myapp.Archive').invoke(['a', 2], ctx)).resolves.toBe('archived');
    await r.resolve('Archive').invoke([], makeContext('Archive'));
    expect(seen[0]!.ctx).toBe(ctx);
    expect(seen[0]!.args).toEqual(['a', 2]);
    expect(seen[0]!.self).toBeInstanceOf(Archive);
    expect(seen[1]!.self).not.toBe(seen[0]!.self);
  });

  test('a class with a static perform is called on the class', async () => {
    // biome-ignore lint/complexity/noStaticOnlyClass: the case under test is a class whose perform is static
    class Static {
      static calls: unknown[][] = [];
      static perform(...args: unknown[]): void {
        Static.calls.push(args);
      }
    }
    await new JobRegistry().register('Static', Static).resolve('Static').invoke([1], makeContext('Static'));
    expect(Static.calls).toEqual([[1]]);
  });

  test('a plain function export gets the args spread', async () => {
    const sendEmail = jest.fn((to: string, subject: string) => `${to}:${subject}`);
    const r = new JobRegistry().register('sendEmail', sendEmail);
    await expect(r.resolve('mailer.sendEmail').invoke(['a@b', 'hi'], makeContext('mailer.sendEmail'))).resolves.toBe('a@b:hi');
    expect(sendEmail).toHaveBeenCalledWith('a@b', 'hi');
  });

  test('an object export is called as a method; timeout is reported', async () => {
    const obj = {
      timeout: 30,
      perform(this: unknown, n: number): unknown {
        return this === obj ? n * 2 : 'wrong this';
      },
    };
    const resolved = new JobRegistry().register('Double', obj).resolve('Double');
    expect(resolved.timeout).toBe(30);
    await expect(resolved.invoke([21], makeContext('Double'))).resolves.toBe(42);
    expect(new JobRegistry().register('NoTimeout', job()).resolve('NoTimeout').timeout).toBeUndefined();
  });

  test('currentJob() is the context inside a job (also after an await) and undefined outside', async () => {
    const ctx = makeContext('Probe');
    let inside: JobContext | undefined;
    let afterAwait: JobContext | undefined;
    const r = new JobRegistry().register('Probe', async () => {
      inside = currentJob();
      await new Promise(res => setTimeout(res, 1));
      afterAwait = currentJob();
    });
    await r.resolve('Probe').invoke([], ctx);
    expect(inside).toBe(ctx);
    expect(afterAwait).toBe(ctx);
    expect(currentJob()).toBeUndefined();
  });

  test('a sync throw and an async rejection both come back as a rejected promise', async () => {
    const r = new JobRegistry()
      .register('SyncFail', () => {
        throw new TypeError('sync boom');
      })
      .register('AsyncFail', { perform: async () => Promise.reject(new RangeError('async boom')) });
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = r.resolve('SyncFail').invoke([], makeContext('SyncFail'));
    }).not.toThrow();
    await expect(p).rejects.toThrow(TypeError);
    await expect(r.resolve('AsyncFail').invoke([], makeContext('AsyncFail'))).rejects.toThrow(RangeError);
  });
});

describe('JobRegistry.registerModule', () => {
  class Archive {
    perform(): void {}
  }
  function sendEmail(): void {}
  class NotAJob {}

  test('a CommonJS module as import() sees it: named exports plus default = module.exports', async () => {
    const moduleExports = { Archive, sendEmail, NotAJob, VERSION: '1.0', config: { retries: 3 } };
    const ns = { ...moduleExports, default: moduleExports };
    const r = new JobRegistry();
    const skipped: string[] = [];
    const names = r.registerModule(ns, 'jobs', n => skipped.push(n));
    // A plain function export is a helper, not a job: a payload naming it must not run it.
    expect([...names].sort()).toEqual(['Archive']);
    expect(r.names()).toEqual(['Archive']);
    expect(skipped).toEqual(['sendEmail']);
    expect(r.resolve('myapp.jobs.Archive').name).toBe('Archive');
    expect(() => r.resolve('sendEmail')).toThrow(UnknownJobClassError);
  });

  test('defineJob declares a job: an object, or a plain function; options kept and validated', async () => {
    const seen: unknown[] = [];
    const Ping = defineJob(async (host: string, n: number) => {
      seen.push([host, n]);
      return n * 2;
    });
    const Archive = defineJob({ timeout: 30, lossless: true, perform: (id: number) => seen.push(id) });
    const r = new JobRegistry();
    expect(r.registerModule({ Ping, Archive, helper: () => 1 }, 'x').sort()).toEqual(['Archive', 'Ping']);
    expect(isDeclaredJob(Ping)).toBe(true);
    expect(isDeclaredJob({ perform() {} })).toBe(false);
    expect(Object.isFrozen(Archive)).toBe(true);
    await expect(r.resolve('Ping').invoke(['h', 21], makeContext('Ping'))).resolves.toBe(42);
    expect(r.resolve('Archive')).toMatchObject({ name: 'Archive', timeout: 30, lossless: true });
    await r.resolve('Archive').invoke([7], makeContext('Archive'));
    expect(seen).toEqual([['h', 21], 7]);
    expect(() => defineJob({} as never)).toThrow(/defineJob needs a function, or an object with a perform/);
    expect(() => defineJob({ perform() {}, timeout: -1 })).toThrow(/timeout must be a positive number/);
    expect(() => defineJob({ perform() {}, lossless: 'yes' as never })).toThrow(/lossless must be true or false/);
  });

  test('a plain function given to register() by hand is a job (that is the declaration)', async () => {
    const r = new JobRegistry().register('sendEmail', (to: string) => to.length);
    await expect(r.resolve('sendEmail').invoke(['ab'], makeContext('sendEmail'))).resolves.toBe(2);
  });

  test('__esModule is ignored', () => {
    const r = new JobRegistry();
    expect(r.registerModule({ __esModule: true, Archive })).toEqual(['Archive']);
  });

  test('module.exports = class: registered under the class name', () => {
    const r = new JobRegistry();
    expect(r.registerModule({ default: Archive }, 'archive')).toEqual(['Archive']);
    expect(r.resolve('Archive').name).toBe('Archive');
  });

  test('module.exports = a perform object or a declared job: the fallback name; a bare function is not a job', () => {
    const anon = [(x: number) => x][0]!;
    expect(anon.name).toBe('');
    const r1 = new JobRegistry();
    const skipped: string[] = [];
    expect(r1.registerModule({ default: anon }, 'archive', n => skipped.push(n))).toEqual([]);
    expect(skipped).toEqual(['default']);
    expect(new JobRegistry().registerModule({ default: defineJob(anon) }, 'archive')).toEqual(['archive']);
    const r2 = new JobRegistry();
    expect(r2.registerModule({ default: { perform() {} } }, 'cleanup')).toEqual(['cleanup']);
  });

  test('a module with no jobs registers nothing', () => {
    const r = new JobRegistry();
    expect(r.registerModule({ NotAJob, VERSION: '1.0', default: { NotAJob } }, 'x')).toEqual([]);
    expect(r.names()).toEqual([]);
  });
});
