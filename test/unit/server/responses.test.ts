import t from 'tap';
import { allowed, denied, denialMessage, errored, outcomeOf, patched, review } from '../../../src/server/responses.js';

const v = [
  { rule: 'TG-A', path: 'spec.x', message: 'x opens a path; fix it' },
  { rule: 'TG-B', path: '', message: 'no path' },
  { rule: 'TG-A', path: 'spec.y', message: 'y too' },
];

t.test('constructors', async (t) => {
  t.same(allowed('u'), { uid: 'u', allowed: true, status: { code: 200 } });
  t.same(allowed('u', ['w']).warnings, ['w']);
  const p = patched('u', [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }], ['w']);
  t.equal(p.patchType, 'JSONPatch');
  t.same(JSON.parse(Buffer.from(p.patch!, 'base64').toString()), [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }]);
  t.same(p.auditAnnotations, { decision: 'patched' });
  t.same(patched('u', []), allowed('u'), 'no patch, no patchType');
  const d = denied('u', v, ['w']);
  t.equal(d.allowed, false);
  t.same(d.status, { code: 403, reason: 'Forbidden', message: denialMessage(v) });
  t.same(d.auditAnnotations, { decision: 'denied', rules: 'TG-A,TG-B' });
  t.same(d.warnings, ['w']);
  t.equal(denialMessage(v), 'tenant-guard found 3 violations:\n[TG-A] spec.x: x opens a path; fix it\n[TG-B] no path\n[TG-A] spec.y: y too');
  const e = errored('u', 400, 'bad');
  t.same(e, { uid: 'u', allowed: false, status: { code: 400, reason: 'BadRequest', message: 'bad' }, auditAnnotations: { decision: 'error' } });
  t.equal(errored('u', 500, 'x').status?.reason, 'InternalError');
});

t.test('outcome and envelope', async (t) => {
  t.equal(outcomeOf(allowed('u')), 'allowed');
  t.equal(outcomeOf(patched('u', [{ op: 'remove', path: '/a' }])), 'patched');
  t.equal(outcomeOf(denied('u', v)), 'denied');
  t.equal(outcomeOf(errored('u', 500, 'x')), 'error');
  t.same(review(allowed('u')), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: allowed('u') });
  // Audit annotation keys are prefixed "<webhook name>/" by the API server: they must be valid name parts.
  for (const k of Object.keys(denied('u', v).auditAnnotations!)) t.match(k, /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
});
