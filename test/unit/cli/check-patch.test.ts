import fjp from 'fast-json-patch';
import fc from 'fast-check';
import t from 'tap';
import { applyPatch } from '../../../src/cli/check-patch.js';
import { setMapEntry } from '../../../src/engine/patch.js';
import type { KubeObject, PatchOp } from '../../../src/engine/types.js';

const base = (): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 's', labels: { a: 'b' } },
  spec: { template: { spec: { containers: [{ image: 'x' }] } } },
});

t.test('add, replace, remove; escaped segments; the input is not mutated', async (t) => {
  const obj = base();
  const out = applyPatch(obj, [
    { op: 'add', path: '/metadata/labels/tenant-guard.dev~1tenant', value: 'tenant-1' },
    { op: 'replace', path: '/metadata/labels/a', value: 'c' },
    { op: 'add', path: '/spec/template/metadata', value: { labels: { 'sidecar.istio.io/inject': 'true' } } },
    { op: 'add', path: '/spec/template/spec/containers/-', value: { image: 'y' } },
    { op: 'remove', path: '/spec/template/spec/containers/0' },
    { op: 'add', path: '/metadata/annotations', value: { 'x~y': '1' } },
    { op: 'remove', path: '/metadata/annotations/x~0y' },
  ]);
  t.same(out.metadata.labels, { a: 'c', 'tenant-guard.dev/tenant': 'tenant-1' });
  t.same(out.spec.template, { metadata: { labels: { 'sidecar.istio.io/inject': 'true' } }, spec: { containers: [{ image: 'y' }] } });
  t.same(out.metadata.annotations, {});
  t.same(obj, base(), 'input untouched');
});

t.test('ops that do not fit the object are engine errors', async (t) => {
  t.throws(() => applyPatch(base(), [{ op: 'add', path: '/spec/nothing/here', value: 1 }]), { code: 'TG_ERR_ENGINE', message: /parent "nothing"/ });
  t.throws(() => applyPatch(base(), [{ op: 'replace', path: '/metadata/missing', value: 1 }]), { code: 'TG_ERR_ENGINE' });
  t.throws(() => applyPatch(base(), [{ op: 'remove', path: '/spec/template/spec/containers/1' }]), { code: 'TG_ERR_ENGINE', message: /index out of range/ });
  t.throws(() => applyPatch(base(), [{ op: 'add', path: 'metadata', value: 1 }]), { code: 'TG_ERR_ENGINE' });
});

t.test('agrees with fast-json-patch on the map patches the engine emits', async (t) => {
  const key = fc.string({ minLength: 1, maxLength: 8 });
  const map = fc.option(fc.dictionary(key, fc.string({ maxLength: 4 }), { maxKeys: 3 }), { nil: undefined });
  await fc.assert(
    fc.property(map, map, key, fc.string(), (labels, tmplLabels, k, v) => {
      const obj = base();
      if (labels) obj.metadata.labels = labels;
      else delete obj.metadata.labels;
      if (tmplLabels) obj.spec.template.metadata = { labels: tmplLabels };
      const ops: PatchOp[] = [...setMapEntry(obj, ['metadata', 'labels'], k, v), ...setMapEntry(obj, ['spec', 'template', 'metadata', 'labels'], k, v)];
      const ours = applyPatch(obj, ops);
      const theirs = fjp.applyPatch(structuredClone(obj), fjp.deepClone(ops), true, false).newDocument;
      t.same(ours, theirs);
      return ours.metadata.labels?.[k] === v && ours.spec.template.metadata.labels[k] === v;
    }),
    { numRuns: 200 },
  );
});
