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
