import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../kube/objects.js';
import { TenantGuardError, describeFsError } from '../errors.js';
import { fastLoadDocuments } from './manifest-fast-yaml.js';

/** Where a manifest came from, for error messages and reports. */
export interface ManifestSource {
  /** The file as the user named it (joined with the entry for directories), or `<stdin>`. */
  file: string;
  /** 1-based position of the YAML document in the file, counting empty documents too. */
  document: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** 1-based position in the `items` of a `kind: List` document. */
  item?: number;
}

export interface Manifest {
  object: KubeObject;
  source: ManifestSource;
}

export const STDIN_PATH = '-';
const STDIN_NAME = '<stdin>';
const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function describeSource(s: ManifestSource): string {
  return `${s.file} document ${s.document} (line ${s.line})${s.item !== undefined ? ` item ${s.item}` : ''}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(source: ManifestSource, what: string): TenantGuardError {
  return new TenantGuardError('TG_ERR_INPUT_INVALID', `${describeSource(source)}: ${what}`);
}

/** Labels and annotations are map[string]string in the API; an unquoted `false` or `1` is rejected there too. */
function checkStringMap(meta: Record<string, unknown>, field: 'labels' | 'annotations', source: ManifestSource): void {
  const map = meta[field];
  if (map === undefined || map === null) return;
  if (!isPlainObject(map)) throw invalid(source, `metadata.${field} must be a map of strings`);
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string') {
      throw invalid(source, `metadata.${field}["${k}"] must be a string, not ${JSON.stringify(v)}; quote the value in YAML (e.g. "${String(v)}")`);
    }
  }
}

/** The checks the API server would make before any admission webhook sees the object. */
function validateObject(value: unknown, source: ManifestSource): KubeObject {
  if (!isPlainObject(value)) {
    throw invalid(source, `is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata, got ${Array.isArray(value) ? 'a list' : typeof value})`);
  }
  for (const field of ['apiVersion', 'kind'] as const) {
    const v = value[field];
    if (typeof v !== 'string' || v.trim() === '') throw invalid(source, `has no "${field}"; every Kubernetes object needs apiVersion and kind`);
  }
  const meta = value.metadata;
  if (!isPlainObject(meta)) throw invalid(source, `${String(value.kind)} has no metadata`);
  if (typeof meta.name !== 'string' || meta.name === '') {
    // generateName is resolved by the API server on create; offline the object could not be referenced again.
    throw invalid(source, `${String(value.kind)} has no metadata.name (generateName is not supported offline)`);
  }
  if (meta.namespace !== undefined && meta.namespace !== null && typeof meta.namespace !== 'string') {
    throw invalid(source, `${String(value.kind)} ${meta.name}: metadata.namespace must be a string`);
  }
  if (meta.namespace === null || meta.namespace === '') delete meta.namespace;
  checkStringMap(meta, 'labels', source);
  checkStringMap(meta, 'annotations', source);
  return value as unknown as KubeObject;
}

/** `kind: List` (kubectl get -o yaml) and typed lists (`ConfigMapList` from the API) carry objects in `items`. */
function isList(value: unknown): value is { kind: string; items: unknown[] } {
  return isPlainObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items);
}

/**
 * Parse one file's text: multi-document YAML (or JSON, a subset of YAML 1.2),
 * lists flattened, empty and comment-only documents skipped. Throws
 * TG_ERR_INPUT_PARSE / TG_ERR_INPUT_INVALID naming file, document and line.
 */
export function parseManifests(text: string, file: string): Manifest[] {
  const fast = fastLoadDocuments(text, file);
  if (fast) {
    const out: Manifest[] = [];
    for (const d of fast) collect(d.value, { file, document: d.document, line: d.line }, out);
    return out;
  }
  return parseManifestsPrecisely(text, file);
}

function collect(value: unknown, source: ManifestSource, out: Manifest[]): void {
  if (value === null || value === undefined) return; // empty, `---` only, or comments only
  if (isList(value)) {
    value.items.forEach((item, j) => out.push({ object: validateObject(item, { ...source, item: j + 1 }), source: { ...source, item: j + 1 } }));
    return;
  }
  out.push({ object: validateObject(value, source), source });
}

/** `yaml`'s parser: exact positions in errors, anchors and aliases bounded. */
export function parseManifestsPrecisely(text: string, file: string): Manifest[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: true });
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    const document = i + 1;
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const source: ManifestSource = { file, document, line: lineCounter.linePos(start).line };
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? `line ${pos.line}, column ${pos.col}` : `line ${source.line}`;
      // prettyErrors appends " at line L, column C:" and a code frame; the position is reported once, up front.
      const message = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new TenantGuardError('TG_ERR_INPUT_PARSE', `${file} document ${document} (${where}): ${message}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new TenantGuardError('TG_ERR_INPUT_PARSE', `${describeSource(source)}: ${(e as Error).message.split('\n')[0]}`);
    }
    collect(value, source, out);
  });
  return out;
}

function isManifestFile(name: string): boolean {
  const lower = name.toLowerCase();
  return MANIFEST_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/**
 * The files a path stands for: the file itself (whatever its extension, the
 * user named it), or every *.yaml/*.yml/*.json below a directory, entries
 * sorted by name at each level so the submission order is stable.
 */
export function manifestFiles(path: string, cwd: string): string[] {
  const seen = new Set<string>();
  const walk = (shown: string): string[] => {
    const abs = resolve(cwd, shown);
    let st;
    try {
      st = statSync(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new TenantGuardError('TG_ERR_INPUT_READ', `${shown}: no such file or directory`);
      throw new TenantGuardError('TG_ERR_INPUT_READ', `${shown}: cannot read: ${describeFsError(e)}`);
    }
    if (!st.isDirectory()) return [shown];
    const real = realpathSync(abs);
    if (seen.has(real)) return []; // symlink loop
    seen.add(real);
    const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const files: string[] = [];
    for (const e of entries) {
      const child = join(shown, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(resolve(cwd, child), { throwIfNoEntry: false })?.isDirectory());
      if (isDir) files.push(...walk(child));
      else if (isManifestFile(e.name)) files.push(child);
    }
    return files;
  };
  return walk(path);
}

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface LoadOptions {
  cwd: string;
  /** Read when a path is `-`; at most once per process, so callers share one reader. */
  stdin?: () => Promise<string>;
}

/** Load every manifest under `paths`, in order (`-` is stdin). */
export async function loadManifests(paths: string[], opts: LoadOptions): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === STDIN_PATH) {
      if (!opts.stdin) throw new TenantGuardError('TG_ERR_USAGE', 'reading manifests from stdin (-) is not possible here');
      out.push(...parseManifests(await opts.stdin(), STDIN_NAME));
      continue;
    }
    for (const file of manifestFiles(p, opts.cwd)) {
      let text: string;
      try {
        text = readFileSync(resolve(opts.cwd, file), 'utf8');
      } catch (e) {
        throw new TenantGuardError('TG_ERR_INPUT_READ', `${file}: cannot read: ${describeFsError(e)}`);
      }
      out.push(...parseManifests(text, file));
    }
  }
  return out;
}

/** A stdin reader that reads once and fails loudly if asked twice (`-f - --state -`). */
export function onceStdin(stream: Readable): () => Promise<string> {
  let used = false;
  return async () => {
    if (used) throw new TenantGuardError('TG_ERR_USAGE', 'stdin (-) can be given only once');
    used = true;
    return readAll(stream);
  };
}
