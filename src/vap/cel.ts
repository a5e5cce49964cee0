// Small helpers for writing CEL source text from TypeScript values.

/** A CEL string literal (single-quoted; backslash and quote escaped). */
export function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** A CEL list literal of strings. */
export function celList(items: Iterable<string>): string {
  return `[${[...items].map(celString).join(', ')}]`;
}

/** The separator of list values in the params ConfigMap (names never hold a newline). */
export const PARAM_SEPARATOR = '\n';
