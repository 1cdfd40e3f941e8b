import { ConfigError } from '../../src/errors';
import { globToLuaPattern, globToRegExp, hasPatterns, parseQueueList, resolveQueues } from '../../src/protocol/queues';

const resolve = (spec: string, known: readonly string[]): string[] => resolveQueues(parseQueueList(spec), known);

describe('parseQueueList', () => {
  test('priority order kept; spaces trimmed; arrays of comma lists accepted', () => {
    expect(parseQueueList(' p10 , p9 ').map(s => s.pattern)).toEqual(['p10', 'p9']);
    expect(parseQueueList(['p10,p9', 'low']).map(s => s.raw)).toEqual(['p10', 'p9', 'low']);
  });

  test('globs and !skip are recognised', () => {
    expect(parseQueueList('p10,p*,!p9,*,q?,[ab]')).toEqual([
      { raw: 'p10', negate: false, pattern: 'p10', isGlob: false },
      { raw: 'p*', negate: false, pattern: 'p*', isGlob: true },
      { raw: '!p9', negate: true, pattern: 'p9', isGlob: false },
      { raw: '*', negate: false, pattern: '*', isGlob: true },
      { raw: 'q?', negate: false, pattern: 'q?', isGlob: true },
      { raw: '[ab]', negate: false, pattern: '[ab]', isGlob: true },
    ]);
    expect(hasPatterns(parseQueueList('p10,p9'))).toBe(false);
    expect(hasPatterns(parseQueueList('p10,!p9'))).toBe(true);
    expect(hasPatterns(parseQueueList('p*'))).toBe(true);
  });

  test.each([
    ['empty', ''],
    ['only commas and spaces', ' , ,'],
    ['an empty array', []],
    ['a bare !', 'p10,!'],
    ['a ":" in a name', 'p10,a:b'],
    ['a ":" in a !skip', '!a:b'],
  ])('ConfigError for %s', (_name, input) => {
    expect(() => parseQueueList(input)).toThrow(ConfigError);
  });
});

describe('resolveQueues (Ruby 3.0 semantics)', () => {
  const known = ['p9', 'low', 'p10', 'high', 'default'];

  test('static names keep the order given, known or not', () => {
    expect(resolve('p9,p10', [])).toEqual(['p9', 'p10']);
    expect(resolve('zeta,alpha', known)).toEqual(['zeta', 'alpha']);
  });

  test('* is every known queue, sorted', () => {
    expect(resolve('*', known)).toEqual(['default', 'high', 'low', 'p10', 'p9']);
    expect(resolve('*', [])).toEqual([]);
  });

  test('a glob expands in place to its sorted matches', () => {
    expect(resolve('high,p*,low', known)).toEqual(['high', 'p10', 'p9', 'low']);
    expect(resolve('p?', known)).toEqual(['p9']);
    expect(resolve('[hl]*', known)).toEqual(['high', 'low']);
  });

  test('no duplicates: the first position wins', () => {
    expect(resolve('p10,p*', known)).toEqual(['p10', 'p9']);
    expect(resolve('p9,*', known)).toEqual(['p9', 'default', 'high', 'low', 'p10']);
    expect(resolve('p10,p10', known)).toEqual(['p10']);
  });

  test('!skip removes matches wherever it stands', () => {
    expect(resolve('*,!p9', known)).toEqual(['default', 'high', 'low', 'p10']);
    expect(resolve('!p9,*', known)).toEqual(['default', 'high', 'low', 'p10']);
    expect(resolve('*,!p*', known)).toEqual(['default', 'high', 'low']);
    expect(resolve('p10,p9,!p9', known)).toEqual(['p10']);
  });

  test('the known list is not mutated', () => {
    const k = ['b', 'a'];
    resolve('*', k);
    expect(k).toEqual(['b', 'a']);
  });
});

describe('globToRegExp (File.fnmatch? without flags)', () => {
  test.each([
    ['p*', ['p', 'p10', 'p9', 'p/x'], ['q', 'xp1']],
    ['p?', ['p9'], ['p', 'p10']],
    ['a.b', ['a.b'], ['axb']],
    ['q-1', ['q-1'], ['q1']],
    ['[ab]x', ['ax', 'bx'], ['cx', 'x']],
    ['[!a]x', ['bx'], ['ax']],
    ['[a-c]', ['a', 'b', 'c'], ['d']],
    ['a+b(c)', ['a+b(c)'], ['aab(c)']],
    ['[oops', ['[oops'], ['o']],
  ])('%s', (glob, yes, no) => {
    const re = globToRegExp(glob);
    for (const s of yes) expect(re.test(s)).toBe(true);
    for (const s of no) expect(re.test(s)).toBe(false);
  });
});

describe('globToLuaPattern: exact patterns for the reserve script', () => {
  test.each([
    ['*', '^.*$'],
    ['p*', '^p.*$'],
    ['p?', '^p.$'],
    ['q-1', '^q%-1$'],
    ['a.b', '^a%.b$'],
    ['a%b', '^a%%b$'],
    ['a+b(c)', '^a%+b%(c%)$'],
    ['x^y$', '^x%^y%$$'],
    ['[ab]x', '^[ab]x$'],
    ['[!a]x', '^[^a]x$'],
    ['[^a]x', '^[^a]x$'],
    ['[a-c]*', '^[a-c].*$'],
    ['[%]', '^[%%]$'],
    ['[oops', '^%[oops$'],
  ])('%s -> %s', (glob, pattern) => {
    expect(globToLuaPattern(glob)).toBe(pattern);
  });
});
