import { X509Certificate } from 'node:crypto';
import t from 'tap';
import {
  caBundleOf,
  normalizePem,
  planRotation,
  secretDataOf,
  stateOfSecret,
  type SelfCertSettings,
  type SelfCertState,
} from '../../../src/certs/self-rotation.js';

const HOUR = 3_600_000;
const settings: SelfCertSettings = {
  dnsNames: ['tenant-guard.tg.svc'],
  ipAddresses: ['127.0.0.1'],
  caLifetimeMs: 30 * HOUR,
  servingLifetimeMs: 9 * HOUR,
  renewFraction: 2 / 3,
  settleMs: 60_000,
  overlapMs: 120_000,
  caCommonName: 'test CA',
};
const at = (ms: number) => new Date(Date.now() + ms);
const signedBy = (pem: string, ca: string) => {
  const c = new X509Certificate(pem);
  return c.verify(new X509Certificate(ca).publicKey);
};

t.test('an empty Secret gets a CA, a bundle of that CA and a serving certificate at once', async (t) => {
  const p = planRotation({ bundle: [] }, [], at(0), settings);
  t.same(p.actions, ['ca-created', 'serving-issued']);
  t.equal(p.state.bundle.length, 1);
  t.equal(p.state.bundle[0], normalizePem(p.state.signer!.certPem));
  t.ok(signedBy(p.state.serving!.certPem, p.state.signer!.certPem));
  t.match(new X509Certificate(p.state.serving!.certPem).subjectAltName, /DNS:tenant-guard\.tg\.svc/);
  // Next look: when the serving certificate is due (6h of 9h), before the CA (20h of 30h).
  const hours = (p.wakeAt.getTime() - Date.now()) / HOUR;
  t.ok(hours > 5.9 && hours < 6.1, `wakes at ~6h, got ${hours}`);
  // Nothing to do right after.
  t.same(planRotation(p.state, [], at(1000), settings).actions, []);
});

t.test('the serving certificate is renewed under the same CA when 2/3 of its life has passed, without overlap', async (t) => {
  const s0 = planRotation({ bundle: [] }, [], at(0), settings).state;
  const p = planRotation(s0, [], at(6.1 * HOUR), settings);
  t.same(p.actions, ['serving-renewed']);
  t.equal(p.state.bundle.length, 1, 'the bundle is unchanged');
  t.not(p.state.serving!.certPem, s0.serving!.certPem);
});

t.test('a CA roll: the new CA joins the bundle, signs only after it settled, and the old CA leaves when every replica serves the new certificate', async (t) => {
  // The serving certificate is due but still valid when the CA is: it waits for the new CA.
  const settings24 = { ...settings, servingLifetimeMs: 24 * HOUR };
  const s0 = planRotation({ bundle: [] }, [], at(0), settings24).state;
  const oldCert = s0.serving!.certPem;
  const t1 = at(20.5 * HOUR);
  const p1 = planRotation({ ...s0 }, [{ replica: 'a', certPem: oldCert }], t1, settings24);
  t.same(p1.actions, ['ca-rotated']);
  t.equal(p1.state.bundle.length, 2, 'old and new CA');
  t.equal(p1.state.serving, s0.serving, 'no certificate of the new CA is served before API servers trust it');
  t.equal(p1.wakeAt.getTime(), t1.getTime() + settings.settleMs);
  t.match(p1.waitingFor, /settle/);

  const t2 = new Date(t1.getTime() + settings.settleMs);
  const p2 = planRotation(p1.state, [{ replica: 'a', certPem: oldCert }], t2, settings24);
  t.same(p2.actions, ['serving-renewed']);
  t.ok(signedBy(p2.state.serving!.certPem, p1.state.signer!.certPem), 'signed by the new CA');
  t.equal(p2.state.bundle.length, 2, 'the old CA stays while a replica serves the old certificate');
  t.match(p2.waitingFor, /replicas still serving a certificate of the old CA: a/);

  const newCert = p2.state.serving!.certPem;
  const behind = planRotation(p2.state, [{ replica: 'a', certPem: newCert }, { replica: 'b', certPem: oldCert }], t2, settings24);
  t.equal(behind.state.bundle.length, 2);
  t.match(behind.waitingFor, /: b$/);
  t.equal(planRotation(p2.state, [], t2, settings24).state.bundle.length, 2, 'no report: no proof, the old CA stays');
  const early = planRotation(p2.state, [{ replica: 'a', certPem: newCert }], t2, settings24);
  t.equal(early.waitingFor, 'the minimum overlap');
  t.equal(early.wakeAt.getTime(), t2.getTime() + settings.overlapMs, 'the overlap counts from the first certificate of the new CA');

  const t3 = new Date(t2.getTime() + settings.overlapMs);
  const done = planRotation(p2.state, [{ replica: 'a', certPem: newCert }, { replica: 'b', certPem: newCert }], t3, settings24);
  t.same(done.actions, ['old-ca-removed']);
  t.same(done.state.bundle, [normalizePem(p1.state.signer!.certPem)]);
});

t.test('the minimum overlap holds the old CA even when every replica already reports', async (t) => {
  const s0 = planRotation({ bundle: [] }, [], at(0), settings).state;
  // A second CA already in the bundle; the signer joined it just now.
  const other = planRotation({ bundle: [] }, [], at(0), settings).state;
  const state: SelfCertState = { ...s0, bundle: [...other.bundle, ...s0.bundle], bundleChangedAt: at(-settings.settleMs) };
  const p = planRotation(state, [{ replica: 'a', certPem: s0.serving!.certPem }], at(0), settings);
  t.equal(p.state.bundle.length, 2);
  t.equal(p.waitingFor, 'the minimum overlap');
});

t.test('a signer missing from an edited bundle is put back; SAN changes reissue the serving certificate', async (t) => {
  const s0 = planRotation({ bundle: [] }, [], at(0), settings).state;
  const p = planRotation({ ...s0, bundle: [] }, [], at(0), { ...settings, dnsNames: ['other.tg.svc'] });
  t.equal(p.state.bundle[0], normalizePem(s0.signer!.certPem));
  t.same(p.actions, ['serving-renewed'], 'the serving certificate no longer names what the Service is called: nothing can use it');
});

t.test('a Secret round-trips through its data and annotation; caBundle is the base64 bundle', async (t) => {
  const s0 = planRotation({ bundle: [] }, [], at(0), settings).state;
  const { data, annotations } = secretDataOf(s0);
  const back = stateOfSecret({ data, metadata: { annotations } });
  t.same(back, s0);
  t.equal(Buffer.from(caBundleOf(s0), 'base64').toString(), normalizePem(s0.signer!.certPem));
  t.same(stateOfSecret(undefined), { bundle: [] });
});
