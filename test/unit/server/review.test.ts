import t from 'tap';
import { isReadable, readEnvelope, readRequest } from '../../../src/server/review.js';

t.test('envelope errors name what is wrong', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['text', /not a JSON object/],
    [[1], /not a JSON object/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, /kind is "Pod"; expected "AdmissionReview"/],
    [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, /apiVersion is "admission.k8s.io\/v1beta1"; only "admission.k8s.io\/v1" is served/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /no "request" object/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, /request\.uid is missing/],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 7 } }, /request\.uid is missing or not a non-empty string/],
  ];
  for (const [body, re] of cases) t.throws(() => readEnvelope(body), { code: 'TG_ERR_REVIEW_INVALID', message: re }, JSON.stringify(body));
  t.same(readEnvelope({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u' } }).uid, 'u');
});

t.test('request fields map to the engine input', async (t) => {
  const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'tenant-1' } };
  const old = { ...obj, metadata: { ...obj.metadata, labels: { a: 'b' } } };
  const r = readRequest('u1', {
    uid: 'u1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation: 'UPDATE',
    namespace: 'tenant-1',
    name: 'p',
    subResource: 'status',
    userInfo: { username: 'alice', groups: ['g1'], extra: { x: ['y'] } },
    object: obj,
    oldObject: old,
    dryRun: true,
  });
  t.ok(isReadable(r));
  if (!isReadable(r)) return;
  t.same(r.input, {
    operation: 'UPDATE',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'tenant-1',
    name: 'p',
    subResource: 'status',
    userInfo: { username: 'alice', groups: ['g1'] },
    object: obj,
    oldObject: old,
    dryRun: true,
  });
});

t.test('cluster-scoped, DELETE, missing groups and empty name are fine', async (t) => {
  const r = readRequest('u', {
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    operation: 'DELETE',
    name: '',
    namespace: '',
    userInfo: { username: 'system:admin' },
    object: null,
    oldObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } },
  });
  t.ok(isReadable(r));
  if (!isReadable(r)) return;
  t.equal(r.input.namespace, undefined);
  t.equal(r.input.name, undefined);
  t.equal(r.input.object, undefined);
  t.same(r.input.userInfo.groups, []);
  t.equal(r.input.dryRun, false);
});

t.test('unreadable requests list every problem', async (t) => {
  const r = readRequest('u', { kind: 'Pod', operation: 'PATCH', userInfo: { groups: 'x' }, object: 'str', namespace: 4, dryRun: 'yes' });
  t.notOk(isReadable(r));
  if (isReadable(r)) return;
  t.equal(r.uid, 'u');
  for (const re of [/operation is "PATCH"/, /request\.kind must be an object/, /username is missing/, /groups is not a list/, /request\.object is not a JSON object/, /request\.namespace is not a string/, /dryRun is not a boolean/])
    t.match(r.problem, re);
});
