// The fast YAML path must give exactly what the precise one gives, wherever it applies.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { manifestFiles, parseManifests, parseManifestsPrecisely } from '../../../src/cluster/manifests.js';
import { fastLoadDocuments } from '../../../src/cluster/manifest-fast-yaml.js';

const REPO = new URL('../../../', import.meta.url).pathname;

t.test('every manifest the project ships parses the same on both paths', async (t) => {
  let fast = 0;
  for (const dir of ['test/fixtures', 'examples']) {
    for (const file of manifestFiles(dir, REPO)) {
      const text = readFileSync(`${REPO}/${file}`, 'utf8');
      let precise;
      try {
        precise = parseManifestsPrecisely(text, file);
      } catch {
        continue; // not a manifest file (CRD bundles with anchors, invalid fixtures): nothing to compare
      }
      if (fastLoadDocuments(text, file)) fast++;
      t.same(parseManifests(text, file), precise, file);
    }
  }
  t.ok(fast > 10, `${fast} files took the fast path`);
});

t.test('document positions and empty documents as the precise parser counts them', async (t) => {
  const cases = [
    'a: 1\n',
    '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n# c\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    '# head comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: "--- not a marker"}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {on: "yes"}}\ndata:\n  script: |\n    echo ---\n    date: 2024-01-01\n',
  ];
  for (const text of cases) {
    let precise: unknown;
    try {
      precise = parseManifestsPrecisely(text, 'f.yaml');
    } catch (e) {
      precise = String(e);
    }
    let got: unknown;
    try {
      got = parseManifests(text, 'f.yaml');
    } catch (e) {
      got = String(e);
    }
    t.same(got, precise, JSON.stringify(text));
  }
});

t.test('anything outside the fast path falls back: anchors, merge keys, tags, parse errors', async (t) => {
  for (const text of ['a: &x 1\nb: *x\n', 'a: {<<: {b: 1}}\n', 'a: !!str 1\n', 'a: [1\n', '%YAML 1.2\n---\na: 1\n']) {
    t.equal(fastLoadDocuments(text, 'f.yaml'), undefined, JSON.stringify(text));
  }
  t.throws(() => parseManifests('kind: [\n', 'bad.yaml'), /bad\.yaml document 1 \(line \d+, column \d+\)/);
});
