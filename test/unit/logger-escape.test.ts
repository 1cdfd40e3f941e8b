/**
 * Issue 10, item 9: payload-derived text (class names, queue names, worker ids, error messages)
 * must not forge log lines or drive a terminal. The logger escapes every control character in
 * one place, the line formatting, so each message is exactly one line.
 */
import { createLogger, escapeLogText } from '../../src/logging/logger';

describe('escapeLogText', () => {
  it('leaves ordinary text, backslashes and non-ASCII alone', () => {
    for (const s of ['plain', 'C:\\jobs\\x.js', 'a\\nb (a backslash and an n)', 'Ünïcødé ✓ 日本 😀', '{"class":"A","args":[1]}', ''])
      expect(escapeLogText(s)).toBe(s);
  });

  it('escapes newline, carriage return and tab by name', () => {
    expect(escapeLogText('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
  });

  it('escapes every other C0 control, DEL and C1 as \\xHH', () => {
    expect(escapeLogText('\u0000\u0001\u0007\u0008\u000b\u000c\u001b\u001f')).toBe('\\x00\\x01\\x07\\x08\\x0b\\x0c\\x1b\\x1f');
    expect(escapeLogText('\u007f')).toBe('\\x7f');
    expect(escapeLogText('\u0080\u0085\u009b\u009f')).toBe('\\x80\\x85\\x9b\\x9f');
    expect(escapeLogText('\u00a0')).toBe('\u00a0'); // NBSP is not a control
  });

  it('escapes the Unicode line and paragraph separators', () => {
    expect(escapeLogText('a\u2028b\u2029c')).toBe('a\\u2028b\\u2029c');
  });

  it('no character of the result is a control character, for every code unit 0..0xffff', () => {
    let all = '';
    for (let c = 0; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) all += String.fromCharCode(c);
    expect(escapeLogText(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  });
});

describe('createLogger lines', () => {
  const capture = (): { lines: string[]; write: (l: string) => void } => {
    const lines: string[] = [];
    return { lines, write: l => lines.push(l) };
  };
  const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) /;

  it('a class name with a newline cannot forge a second line', () => {
    const c = capture();
    const log = createLogger({ write: c.write, scope: 'vm:1:q' });
    const forged = 'Evil\n2026-11-23T12:00:00.000Z INFO  [vm:1:q] done Evil: processed in 1 ms';
    log.error(`failed ${forged}: boom`);
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]).toMatch(LINE);
    expect(c.lines[0]).not.toContain('\n');
    expect(c.lines[0]).toContain('[vm:1:q] failed Evil\\n2026-11-23T12:00:00.000Z INFO  [vm:1:q] done Evil');
  });

  it('ANSI sequences and CR are shown, not interpreted', () => {
    const c = capture();
    const log = createLogger({ write: c.write });
    log.warn('queue \u001b[2J\u001b[31mred\u001b[0m\rOVERWRITE');
    expect(c.lines[0]).toMatch(/ WARN  queue \\x1b\[2J\\x1b\[31mred\\x1b\[0m\\rOVERWRITE$/);
    expect(c.lines[0]).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  });

  it('escapes scopes too (a worker id or queue name from Redis), at every level and in children', () => {
    const c = capture();
    const log = createLogger({ write: c.write, level: 'debug', scope: 'host\n:1:q' }).child('job\u2028x');
    log.debug('a\u0085b');
    log.info('c');
    log.warn('d\te');
    log.error('f\u0000');
    expect(c.lines).toHaveLength(4);
    for (const l of c.lines) {
      expect(l).toMatch(LINE);
      expect(l).toContain('[host\\n:1:q job\\u2028x] ');
      expect(l).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }
    expect(c.lines.map(l => l.slice(l.indexOf('] ') + 2))).toEqual(['a\\x85b', 'c', 'd\\te', 'f\\x00']);
  });

  it('an ordinary line is unchanged', () => {
    const c = capture();
    createLogger({ write: c.write, scope: 'vm:9413:p9' }).info('done MixedJob (p9) in 3 ms; args [1,"two"]');
    expect(c.lines[0]).toMatch(/^\S+ INFO  \[vm:9413:p9\] done MixedJob \(p9\) in 3 ms; args \[1,"two"\]$/);
  });
});
