/**
 * HTML building with escaping by default. Every value interpolated into an `html` template is
 * escaped (& < > " ' and `), unless it is itself an `Html` built by `html` (or `rawHtml`, used
 * only for constant markup). Arrays are joined; null, undefined and false render as nothing.
 * This is the only way pages are built, so a payload containing `<script>` is shown, not run.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, c => ESC[c] as string);
}

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Trusted constant markup only (never data from Redis or a request). */
export function rawHtml(s: string): Html {
  return new Html(s);
}

/** A query string from defined values, for links. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** A path segment, encoded (queue names and worker ids contain ':' and ','). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** How much of a payload a list row shows (characters). */
export const LIST_CLIP = 4096;
/** How much of a payload, its arguments or its record a detail page shows (characters). */
export const DETAIL_CLIP = 1_000_000;

/**
 * `text` for a page, cut after `max` characters with a note of how much was left out: a page
 * of 20 jobs of 100 MB each cannot be built (V8's strings end at 512 MB) and helps nobody.
 * Never cuts a UTF-16 surrogate pair in two.
 */
export function clip(text: string, max: number, whole = 'the whole payload: `pyres-ts failed list --json` or the queue in Redis'): HtmlValue {
  if (text.length <= max) return text;
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return html`${text.slice(0, end)}<span class="clipped">… ${(text.length - end).toLocaleString('en-US')} more characters not shown (${whole})</span>`;
}
