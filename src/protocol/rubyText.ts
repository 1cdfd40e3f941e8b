/**
 * Ruby's text forms of JSON-decoded values, as the Ruby plugins build names and keys from them
 * (PROTOCOL-plugins.md §2.2 `name`, §3.1 retry identifier). Pure. Ruby ≤ 3.3 `Hash#inspect`
 * (`{"k"=>1}`); Ruby 3.4 prints `{"k" => 1}` and is not emulated.
 */

/** Ruby's `Float#to_s`: `2.0`, `0.4`, `1.0e+20`, `1.0e-05`, `Infinity`, `NaN`. */
export function rubyFloatToS(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  // Ruby switches to exponent form below 1e-4 and at or above 1e16.
  if (abs >= 1e16 || abs < 1e-4) {
    const [m, e] = x.toExponential().split('e') as [string, string];
    const mant = m.includes('.') ? m : `${m}.0`;
    const exp = Number(e);
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** How a JSON number reads in Ruby: integers as `Integer`, others as `Float`. */
function numberToS(x: number | bigint): string {
  if (typeof x === 'bigint') return x.toString();
  return Number.isInteger(x) && Math.abs(x) < 1e16 ? String(x) : rubyFloatToS(x);
}

function stringInspect(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\x1b') out += '\\e';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  // Ruby escapes `#` when it starts an interpolation: `#{`, `#$`, `#@`.
  return `${out.replace(/#(?=[{$@])/g, '\\#')}"`;
}

/** Ruby's `inspect` of a JSON-decoded value (`nil`, `true`, `1`, `0.4`, `"s"`, `[1, 2]`, `{"k"=>[1, 2]}`). */
export function rubyInspect(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' || typeof v === 'bigint') return numberToS(v);
  if (typeof v === 'string') return stringInspect(v);
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length === 0 ? '{}' : `{${entries.map(([k, x]) => `${stringInspect(k)}=>${rubyInspect(x)}`).join(', ')}}`;
  }
  return String(v);
}

/** Ruby's `to_s` of a JSON-decoded value as `Array#join` uses it: strings raw, nil empty, arrays joined recursively by `sep`, hashes by `inspect`. */
export function rubyJoinToS(v: unknown, sep: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(x => rubyJoinToS(x, sep)).join(sep);
  return rubyInspect(v);
}

/** Ruby's `args.join(sep)`: nested arrays flattened with the same separator. */
export function rubyJoin(args: readonly unknown[], sep: string): string {
  return args.map(x => rubyJoinToS(x, sep)).join(sep);
}
