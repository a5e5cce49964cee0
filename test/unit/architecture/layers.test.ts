import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

// The house's one-way imports (docs/architecture.md): a folder of src/ may
// import its own files and folders of a lower layer, never a higher one or a
// peer of its own layer. A new folder fails here until it is given a layer.
const LAYERS: string[][] = [
  ['errors.ts', 'kube', 'net', 'release'],
  ['config'],
  ['cluster'],
  ['tenancy', 'certs'],
  ['mesh'],
  ['engine'],
  ['reports', 'vap'],
  ['controllers'],
  ['server'],
  ['cli'],
];

const rank = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));
const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** The first path segment under src/: a folder, or a file at the top. */
function unitOf(srcRelative: string): string {
  return srcRelative.split('/')[0] ?? srcRelative;
}

/** Why `from` may not import `to` (src-relative paths), or undefined when it may. */
function violation(from: string, to: string): string | undefined {
  const a = unitOf(from);
  const b = unitOf(to);
  if (a === b) return undefined;
  const ra = rank.get(a);
  const rb = rank.get(b);
  if (ra === undefined) return `${a} has no layer in test/unit/architecture/layers.test.ts`;
  if (rb === undefined) return `${b} has no layer in test/unit/architecture/layers.test.ts`;
  if (rb < ra) return undefined;
  return rb === ra ? `${a} and ${b} are peers of one layer` : `${b} is a higher layer than ${a}`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import and re-export of a file (static, type-only and dynamic), as src-relative paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(SRC, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts'));
}

t.test('the checker itself refuses upward and peer imports', async (t) => {
  t.equal(violation('engine/pod.ts', 'mesh/decide.ts'), undefined);
  t.equal(violation('engine/pod.ts', 'engine/types.ts'), undefined);
  t.equal(violation('config/load.ts', 'errors.ts'), undefined);
  t.match(violation('mesh/decide.ts', 'engine/types.ts'), /higher layer/);
  t.match(violation('engine/x.ts', 'controllers/baseline.ts'), /higher layer/);
  t.match(violation('tenancy/x.ts', 'certs/files.ts'), /peers/);
  t.match(violation('newfolder/x.ts', 'config/types.ts'), /no layer/);
});

t.test('every import in src/ points down', async (t) => {
  const files = sourceFiles(SRC);
  t.ok(files.length > 100, `found ${files.length} source files`);
  const upward: string[] = [];
  const edges = new Set<string>();
  for (const file of files) {
    const from = relative(SRC, file);
    for (const to of importsOf(file)) {
      const why = violation(from, to);
      if (why) upward.push(`${from} imports ${to}: ${why}`);
      if (unitOf(from) !== unitOf(to)) edges.add(`${unitOf(from)} -> ${unitOf(to)}`);
    }
  }
  t.same(upward, [], 'no import runs from a lower layer to a higher one (docs/architecture.md)');
  t.ok(edges.size > 20, `${edges.size} folder-to-folder edges checked`);
});

t.test('every folder of src/ has a layer', async (t) => {
  const units = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory() || n.endsWith('.ts'));
  t.same(units.filter((u) => !rank.has(u)), []);
});

t.test('one tenantOf: the tenancy model is the only place that answers who owns a namespace', async (t) => {
  const defs = sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^\s*(?:export\s+)?(?:function\s+tenantOf\b|tenantOf\s*\()/gm)].map(() => relative(SRC, file)),
  );
  t.same(defs, ['tenancy/tenancy.ts']);
});
