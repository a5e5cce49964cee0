import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { loadManifests, manifestFiles, onceStdin, parseManifests } from '../../../src/cluster/manifests.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n`;

t.test('multi-document YAML: order, source positions, empty and comment-only documents skipped', async (t) => {
  const text = `# leading comment\n---\n${cm('a')}---\n# only a comment\n---\n---\n${cm('b')}---\n`;
  const out = parseManifests(text, 'x.yaml');
  t.same(
    out.map((m) => [m.object.metadata.name, m.source]),
    [
      ['a', { file: 'x.yaml', document: 1, line: 3 }],
      ['b', { file: 'x.yaml', document: 4, line: 10 }],
    ],
  );
});

t.test('JSON documents and kind: List items are flattened with their item number', async (t) => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [JSON.parse(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'j1' } })), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'j2' } }] });
  const out = parseManifests(json, 'l.json');
  t.same(out.map((m) => [m.object.kind, m.source.item]), [['ConfigMap', 1], ['Secret', 2]]);
  const typed = parseManifests('apiVersion: v1\nkind: ConfigMapList\nitems:\n- ' + cm('c').replace(/\n(?=.)/g, '\n  '), 'typed.yaml');
  t.same(typed.map((m) => m.object.metadata.name), ['c']);
});

t.test('malformed YAML names file, document and line', async (t) => {
  t.throws(() => parseManifests(`${cm('a')}---\nkind: [\n`, 'bad.yaml'), {
    code: 'TG_ERR_INPUT_PARSE',
    message: /^bad\.yaml document 2 \(line \d+, column \d+\): /,
  });
  t.throws(() => parseManifests('a: 1\na: 2\n', 'dup.yaml'), { code: 'TG_ERR_INPUT_PARSE', message: /dup\.yaml document 1 .*unique/ });
});

t.test('documents that are not Kubernetes objects are rejected with their position', async (t) => {
  t.throws(() => parseManifests(`${cm('a')}---\napiVersion: v1\nmetadata: {name: x}\n`, 'k.yaml'), {
    code: 'TG_ERR_INPUT_INVALID',
    message: /^k\.yaml document 2 \(line 5\): has no "kind"/,
  });
  t.throws(() => parseManifests('kind: ConfigMap\nmetadata: {name: x}\n', 'v.yaml'), { message: /v\.yaml document 1 \(line 1\): has no "apiVersion"/ });
  t.throws(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: ns}\n', 'n.yaml'), {
    code: 'TG_ERR_INPUT_INVALID',
    message: /n\.yaml document 1 \(line 1\): ConfigMap has no metadata\.name/,
  });
  t.throws(() => parseManifests('apiVersion: v1\nkind: ConfigMap\n', 'm.yaml'), { message: /ConfigMap has no metadata/ });
  t.throws(() => parseManifests('- a\n- b\n', 'arr.yaml'), { code: 'TG_ERR_INPUT_INVALID', message: /arr\.yaml document 1 .*got a list/ });
  t.throws(() => parseManifests('just text\n', 's.yaml'), { message: /got string/ });
  t.throws(() => parseManifests('apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap}]\n', 'li.yaml'), {
    message: /li\.yaml document 1 \(line 1\) item 1: has no "apiVersion"/,
  });
});

t.test('label and annotation values must be strings, as in the API', async (t) => {
  const ksvc = 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    sidecar.istio.io/inject: false\n';
  t.throws(() => parseManifests(ksvc, 'q.yaml'), {
    code: 'TG_ERR_INPUT_INVALID',
    message: /metadata\.annotations\["sidecar\.istio\.io\/inject"\] must be a string, not false; quote/,
  });
});

t.test('directories: recursive, *.yaml/*.yml/*.json only, sorted at each level; explicit files whatever their extension', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-manifests-'));
  mkdirSync(join(dir, 'b-sub'));
  mkdirSync(join(dir, 'a-sub'));
  writeFileSync(join(dir, 'z.yaml'), cm('z'));
  writeFileSync(join(dir, 'c.yml'), cm('c'));
  writeFileSync(join(dir, 'README.md'), '# not a manifest');
  writeFileSync(join(dir, 'b-sub', 'x.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
  writeFileSync(join(dir, 'a-sub', 'y.yaml'), cm('y'));
  writeFileSync(join(dir, 'extra.txt'), cm('t'));
  symlinkSync(dir, join(dir, 'b-sub', 'loop'));
  t.same(manifestFiles('.', dir), ['a-sub/y.yaml', 'b-sub/x.json', 'c.yml', 'z.yaml']);
  const loaded = await loadManifests(['.', 'extra.txt'], { cwd: dir });
  t.same(loaded.map((m) => [m.object.metadata.name, m.source.file]), [
    ['y', 'a-sub/y.yaml'],
    ['x', 'b-sub/x.json'],
    ['c', 'c.yml'],
    ['z', 'z.yaml'],
    ['t', 'extra.txt'],
  ]);
  await t.rejects(loadManifests(['missing.yaml'], { cwd: dir }), { code: 'TG_ERR_INPUT_READ', message: /missing\.yaml: no such file or directory/ });
});

t.test('stdin: "-" reads the stream once and names it <stdin>', async (t) => {
  const stdin = onceStdin(Readable.from([Buffer.from(cm('s1') + '---\n'), Buffer.from(cm('s2'))]));
  const loaded = await loadManifests(['-'], { cwd: '/', stdin });
  t.same(loaded.map((m) => [m.object.metadata.name, m.source.file, m.source.document]), [
    ['s1', '<stdin>', 1],
    ['s2', '<stdin>', 2],
  ]);
  await t.rejects(loadManifests(['-'], { cwd: '/', stdin }), { code: 'TG_ERR_USAGE', message: /only once/ });
  await t.rejects(loadManifests(['-'], { cwd: '/' }), { code: 'TG_ERR_USAGE' });
});
