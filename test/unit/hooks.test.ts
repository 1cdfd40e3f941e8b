/**
 * Hook collection and the perform chain (src/jobs/hooks.ts), pure: Resque's name order (bare
 * name first, then sorted), arrays and records, class statics, nesting, DontPerform, and
 * run_failure_hooks' RuntimeError.
 */
import { collectJobHooks, collectWorkerHooks, defineWorkerHooks, DontPerform, runFailureHooks, runPerformChain } from '../../src/jobs/hooks';
import { JobRegistry } from '../../src/jobs/registry';

describe('collectJobHooks', () => {
  it('sorts by property name within a kind, the bare name first (as Resque sorts before_perform*)', async () => {
    const calls: string[] = [];
    const job = {
      beforePerformB: () => void calls.push('b'),
      beforePerform: () => void calls.push('bare'),
      beforePerformA: () => void calls.push('a'),
      perform: () => undefined,
    };
    for (const h of collectJobHooks(job).beforePerform) await h();
    expect(calls).toEqual(['bare', 'a', 'b']);
  });

  it("finds a class's static hooks, inherited ones too, with `this` the class", async () => {
    const calls: string[] = [];
    // biome-ignore lint/complexity/noStaticOnlyClass: a Resque-style job class, its hooks class methods
    class Base {
      static tag = 'base';
      static afterPerformLog(this: { tag: string }) {
        // biome-ignore lint/complexity/noThisInStatic: the point: `this` is the job class a hook was found on
        calls.push(`log ${this.tag}`);
      }
    }
    class Job extends Base {
      static override tag = 'job';
      static perform() {}
      static afterPerformAudit() {
        calls.push('audit');
      }
    }
    for (const h of collectJobHooks(Job).afterPerform) await h();
    expect(calls).toEqual(['audit', 'log job']);
  });

  it('refuses a hook property that is not a function, array or record; a plain object job with one is refused at register', () => {
    expect(() => collectJobHooks({ perform() {}, onFailure: 'x' })).toThrow(/hook onFailure must be a function/);
    expect(() => new JobRegistry().register('J', { perform() {}, aroundPerformX: [1] } as never)).toThrow(/hook aroundPerformX\[0\]/);
  });
});

describe('runPerformChain', () => {
  it('nests around hooks in order and runs after hooks; DontPerform stops everything after it', async () => {
    const calls: string[] = [];
    const hooks = collectJobHooks({
      beforePerform: (x: string) => {
        calls.push(`before ${x}`);
        if (x === 'skip') throw new DontPerform();
      },
      aroundPerformA: async (next: () => Promise<unknown>) => (calls.push('a in'), await next(), calls.push('a out')),
      aroundPerformB: async (next: () => Promise<unknown>) => (calls.push('b in'), await next(), calls.push('b out')),
      afterPerform: () => void calls.push('after'),
    });
    expect(await runPerformChain(hooks, ['go'], async () => (calls.push('perform'), 7))).toEqual({ performed: true, skipped: false, result: 7 });
    expect(calls).toEqual(['before go', 'a in', 'b in', 'perform', 'b out', 'a out', 'after']);
    calls.length = 0;
    expect(await runPerformChain(hooks, ['skip'], async () => calls.push('perform'))).toEqual({ performed: false, skipped: true, result: undefined });
    expect(calls).toEqual(['before skip']);
  });

  it('an around hook that catches the failure of next() and returns rescues it (Ruby: rescue around yield); one that drops next() does not', async () => {
    const calls: string[] = [];
    const rescuing = collectJobHooks({
      aroundPerform: async (next: () => Promise<unknown>) => {
        try {
          await next();
        } catch (e) {
          calls.push(`rescued ${(e as Error).message}`);
        }
      },
      afterPerform: () => void calls.push('after'),
    });
    const boom = async (): Promise<never> => {
      throw new Error('boom');
    };
    expect(await runPerformChain(rescuing, [], boom)).toEqual({ performed: false, skipped: false, result: undefined });
    expect(calls).toEqual(['rescued boom', 'after']);
    // next() called but never awaited: the failure is not the hook's to swallow.
    const dropping = collectJobHooks({ aroundPerform: (next: () => Promise<unknown>) => void next() });
    await expect(runPerformChain(dropping, [], boom)).rejects.toThrow('boom');
    // Rethrown by the hook: propagates.
    const rethrowing = collectJobHooks({ aroundPerform: async (next: () => Promise<unknown>) => next().catch(e => Promise.reject(e)) });
    await expect(runPerformChain(rethrowing, [], boom)).rejects.toThrow('boom');
  });

  it("an onFailure error becomes Resque's RuntimeError, and the later hooks do not run", async () => {
    const calls: string[] = [];
    const hooks = collectJobHooks({
      onFailureA: () => {
        throw new TypeError('oops');
      },
      onFailureB: () => void calls.push('b'),
    });
    const err = Object.assign(new Error('boom'), { name: 'ArgumentError' });
    const out = await runFailureHooks(hooks, err, [], 'HookJob');
    expect(out.name).toBe('RuntimeError');
    expect(out.message).toBe(
      'Additional error (TypeError: oops) occurred in running failure hooks for job HookJob\nOriginal error that caused job failure was TypeError: ArgumentError: boom',
    );
    expect(calls).toEqual([]);
    expect(await runFailureHooks(collectJobHooks({ onFailure: () => undefined }), err, [], 'J')).toBe(err);
  });
});

describe('defineWorkerHooks', () => {
  it('refuses an unknown hook name; lists merge in registration order', () => {
    expect(() => defineWorkerHooks({ beforeFork: () => undefined } as never)).toThrow(/unknown hook "beforeFork"/);
    const a = () => undefined;
    const b = () => undefined;
    expect(collectWorkerHooks([defineWorkerHooks({ queueEmpty: a }), { queueEmpty: [b] }]).queueEmpty).toEqual([a, b]);
  });
});
