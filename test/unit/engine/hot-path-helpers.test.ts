// The helpers every workload review goes through have fast paths for the
// common input (plain label keys, string-only maps, existing maps); these
// pin the uncommon inputs to what the general path answers.
import t from 'tap';
import { escapePointer, pointer, setMapEntry } from '../../../src/engine/patch.js';
import { checkInjectOptOut, checkSidecarAnnotations, readMetadata } from '../../../src/engine/sidecar-metadata-checks.js';
import type { Finding } from '../../../src/engine/workload-findings.js';
import { ensureLabels, setMapEntries } from '../../../src/engine/workload-labels.js';

t.test('JSON Pointer segments are escaped per RFC 6901 (~ before /)', async (t) => {
  t.equal(escapePointer('labels'), 'labels');
  t.equal(escapePointer('tenant-guard.dev/tenant'), 'tenant-guard.dev~1tenant');
  t.equal(escapePointer('a~b'), 'a~0b');
  t.equal(escapePointer('~/x/~1'), '~0~1x~1~01');
  t.equal(pointer('spec', 'containers', 0, 'a/b'), '/spec/containers/0/a~1b');
  t.equal(pointer(), '');
});

t.test('setMapEntries: one op per key on an existing map, the map created once when missing', async (t) => {
  const obj = { metadata: { labels: { keep: 'x', change: 'old' } } };
  t.same(setMapEntries(obj, ['metadata', 'labels'], { keep: 'x', change: 'new', 'a/b': 'v' }), [
    { op: 'replace', path: '/metadata/labels/change', value: 'new' },
    { op: 'add', path: '/metadata/labels/a~1b', value: 'v' },
  ]);
  t.same(setMapEntries({ metadata: {} }, ['metadata', 'labels'], { a: '1', b: '2' }), [
    { op: 'add', path: '/metadata/labels', value: { a: '1' } },
    { op: 'add', path: '/metadata/labels/b', value: '2' },
  ]);
  t.same(setMapEntries({}, ['spec', 'template', 'metadata', 'labels'], { a: '1' }), [{ op: 'add', path: '/spec', value: { template: { metadata: { labels: { a: '1' } } } } }]);
  t.same(setMapEntries({ metadata: { labels: null } }, ['metadata', 'labels'], {}), [], 'nothing to set');
  // Not a map (the API server would refuse it): each key is added below it, as setMapEntry does.
  t.same(setMapEntries({ metadata: { labels: 'str' } }, ['metadata', 'labels'], { a: '1', b: '2' }), [
    ...setMapEntry({ metadata: { labels: 'str' } }, ['metadata', 'labels'], 'a', '1'),
    { op: 'add', path: '/metadata/labels/b', value: '2' },
  ]);
});

t.test('ensureLabels reports only string values it overwrites', async (t) => {
  const obj = { metadata: { labels: { t: 'other', n: 5, same: 'v' } } };
  const { ops, replaced } = ensureLabels(obj, ['metadata', 'labels'], { t: 'mine', n: '5', same: 'v' });
  t.same(replaced, [{ key: 't', from: 'other', to: 'mine' }]);
  t.same(ops, [
    { op: 'replace', path: '/metadata/labels/t', value: 'mine' },
    { op: 'replace', path: '/metadata/labels/n', value: '5' },
  ]);
});

t.test('readMetadata: values read as strings, a "__proto__" key ignored, whether or not the map is copied', async (t) => {
  const annotations = JSON.parse('{"__proto__": "x", "sidecar.istio.io/proxyImage": "evil", "n": 5}') as Record<string, unknown>;
  const meta = readMetadata({ labels: { 'sidecar.istio.io/inject': false }, annotations }, 'metadata');
  t.same(Object.keys(meta.annotations), ['sidecar.istio.io/proxyImage', 'n']);
  t.equal(meta.annotations.n, '5');
  const found: Finding[] = [];
  checkInjectOptOut(found, meta, 'metadata');
  checkSidecarAnnotations(found, meta, 'metadata');
  t.same(
    found.map((f) => f.path),
    ['metadata.labels["sidecar.istio.io/inject"]', 'metadata.annotations["sidecar.istio.io/proxyImage"]'],
  );
  t.match(found[0]!.message, /sidecar\.istio\.io\/inject: "false" opts the pod out/);
  const proto = JSON.parse('{"__proto__": "x"}') as Record<string, unknown>;
  t.same(Object.keys(readMetadata({ labels: proto }, 'metadata').labels), [], 'a string map with "__proto__" is read without it');
  const plain = { a: 'b' };
  t.equal(readMetadata({ labels: plain }, 'metadata').labels, plain, 'a string-only map is read in place, not copied');
  t.throws(() => readMetadata({ labels: [] }, 'spec.template.metadata'), /spec\.template\.metadata\.labels is not a map/);
  t.throws(() => readMetadata('x', 'metadata'), /metadata is not an object/);
});
