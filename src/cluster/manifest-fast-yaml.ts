import jsyaml from 'js-yaml';

// Loading `--state` for a large cluster means tens of thousands of YAML
// documents; the `yaml` package, which gives the exact positions our error
// messages quote, takes about 1 ms per document. js-yaml is about ten times
// faster but reports no per-document positions, so it is used only where
// both agree by construction, and the caller falls back to `yaml` for
// anything else (a parse error included, so error messages keep their
// precision):
// - documents are split at `---` lines, which YAML forbids inside any
//   content (YAML 1.2 §9.1.4, c-forbidden), so the split is exact;
// - no anchors, aliases, merge keys, `...` end markers or directives, whose
//   handling differs or needs the alias limits `yaml` enforces;
// - the core schema, as `yaml`'s default (no timestamps, no YAML 1.1 booleans).

export interface FastDocument {
  /** 1-based document position, counting empty documents as `yaml` does. */
  document: number;
  /** 1-based line where the document's content starts. */
  line: number;
  value: unknown;
}

const MARKER = /^---(?:[ \t]|$)/;
const UNSUPPORTED = /^(?:\.\.\.|%)|(?:^|[\s[{,])[&*!][^\s,\]}]|<</m;

function isContent(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('#');
}

/** The documents of `text`, or undefined when the fast path does not apply (the caller then uses `yaml`). */
export function fastLoadDocuments(text: string, file: string): FastDocument[] | undefined {
  if (UNSUPPORTED.test(text)) return undefined;
  const lines = text.split('\n');
  const chunks: { start: number; lines: string[] }[] = [];
  let current: { start: number; lines: string[] } = { start: 0, lines: [] };
  let sawMarker = false;
  lines.forEach((line, i) => {
    if (MARKER.test(line)) {
      // Text before the first marker is a document only if it holds content.
      if (sawMarker || current.lines.some(isContent)) chunks.push(current);
      sawMarker = true;
      current = { start: i, lines: [line.slice(3)] };
    } else current.lines.push(line);
  });
  if (sawMarker || current.lines.some(isContent)) chunks.push(current);
  const out: FastDocument[] = [];
  try {
    chunks.forEach((c, i) => {
      const first = c.lines.findIndex(isContent);
      out.push({
        document: i + 1,
        line: c.start + (first < 0 ? 0 : first) + 1,
        value: jsyaml.load(c.lines.join('\n'), { schema: jsyaml.CORE_SCHEMA, filename: file, json: false }) ?? null,
      });
    });
  } catch {
    return undefined;
  }
  return out;
}
