/**
 * JSON for a command's `--json` output that survives V8's string limit (~512 MB): a failure
 * record of hundreds of MB, embedded once raw and once parsed, would not fit in one string.
 */

type Stringify = (v: unknown, replacer?: null, space?: number) => string | undefined;

function tryStringify(stringify: Stringify, v: unknown, space?: number): string | undefined | RangeError {
  try {
    return space === undefined ? stringify(v) : stringify(v, null, space);
  } catch (e) {
    if (e instanceof RangeError) return e;
    throw e;
  }
}

/** A member JSON.stringify leaves out of an object (and writes as null in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/**
 * `JSON.stringify(value, null, 2)` as one piece when it fits; past the limit, the same value as
 * compact pieces (each member of an object or array that does not fit is split in turn), to be
 * written one after the other: joined with newlines they are one JSON document.
 * `stringify` is JSON.stringify (a test gives one with a lower limit).
 */
export function jsonPieces(value: unknown, stringify: Stringify = JSON.stringify as Stringify): string[] {
  const whole = tryStringify(stringify, value, 2);
  if (!(whole instanceof RangeError)) return [whole ?? 'null'];
  const out: string[] = [];
  const walk = (v: unknown, prefix: string, suffix: string): void => {
    const s = tryStringify(stringify, v);
    if (!(s instanceof RangeError)) {
      const text = s ?? 'null';
      try {
        out.push(`${prefix}${text}${suffix}`);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        // The key or the comma made it one character too many: apart, on lines of their own.
        out.push(prefix, text, suffix);
      }
      return;
    }
    if (Array.isArray(v)) {
      out.push(`${prefix}[`);
      v.forEach((x, i) => walk(omitted(x) ? null : x, '', i < v.length - 1 ? ',' : ''));
      out.push(`]${suffix}`);
      return;
    }
    if (v === null || typeof v !== 'object') throw s;
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => !omitted(x));
    out.push(`${prefix}{`);
    entries.forEach(([k, x], i) => walk(x, `${JSON.stringify(k)}:`, i < entries.length - 1 ? ',' : ''));
    out.push(`}${suffix}`);
  };
  walk(value, '', '');
  return out;
}
