import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import t from 'tap';
import { createCertificateAuthority, createServingCertificate, parseCertificateAuthority, randomSerial, validateSubjectNames } from '../../../src/certs/generate.js';

const ca = createCertificateAuthority({ commonName: 'test CA', days: 30 });

t.test('the CA is a self-signed CA with a key that matches', async (t) => {
  const x = new X509Certificate(ca.certPem);
  t.ok(x.ca, 'basicConstraints cA');
  t.equal(x.subject, 'CN=test CA');
  t.equal(x.issuer, 'CN=test CA');
  t.ok(x.verify(x.publicKey), 'self-signed');
  t.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)));
  const days = (Date.parse(x.validTo) - Date.now()) / 86_400_000;
  t.ok(days > 29.9 && days <= 30, `valid ~30 days, got ${days}`);
});

t.test('the serving certificate carries the SANs and is signed by the CA', async (t) => {
  const s = createServingCertificate({ ca, dnsNames: ['tenant-guard.tg-system.svc', 'localhost'], ipAddresses: ['127.0.0.1', '::1'], days: 7 });
  const x = new X509Certificate(s.certPem);
  const caX = new X509Certificate(ca.certPem);
  t.notOk(x.ca, 'not a CA');
  t.ok(x.verify(caX.publicKey), 'signature verifies with the CA key');
  t.ok(x.checkIssued(caX), 'issued by the CA');
  t.equal(x.subjectAltName, 'DNS:tenant-guard.tg-system.svc, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  t.equal(x.checkHost('tenant-guard.tg-system.svc'), 'tenant-guard.tg-system.svc');
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(x.checkIP('10.0.0.1'), undefined);
  t.same(x.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extKeyUsage serverAuth only');
  t.ok(x.checkPrivateKey(createPrivateKey(s.keyPem)));
  t.equal(createPublicKey(s.keyPem).asymmetricKeyDetails?.modulusLength, 2048);
  t.not(x.serialNumber, caX.serialNumber);
});

t.test('bad names and validity are refused with TG_ERR_CERTS', async (t) => {
  t.throws(() => validateSubjectNames([], []), { code: 'TG_ERR_CERTS', message: /at least one --dns name or --ip/ });
  t.throws(() => validateSubjectNames(['bad_name!'], []), { code: 'TG_ERR_CERTS', message: /"bad_name!" is not a valid DNS name/ });
  t.throws(() => validateSubjectNames([], ['300.1.1.1']), { code: 'TG_ERR_CERTS', message: /not an IPv4 or IPv6 address/ });
  t.doesNotThrow(() => validateSubjectNames(['*.example.com'], ['fd00::1']));
  t.throws(() => createServingCertificate({ ca, dnsNames: ['a'], ipAddresses: [], days: 0 }), { code: 'TG_ERR_CERTS', message: /between 1 and/ });
});

t.test('a CA whose key belongs to another certificate is refused', async (t) => {
  const other = createCertificateAuthority({ commonName: 'other', days: 1 });
  t.throws(() => parseCertificateAuthority({ certPem: ca.certPem, keyPem: other.keyPem }, 'x'), {
    code: 'TG_ERR_CERTS',
    message: /the CA key does not belong to the CA certificate/,
  });
  const leaf = createServingCertificate({ ca, dnsNames: ['a'], ipAddresses: [], days: 1 });
  t.throws(() => parseCertificateAuthority(leaf, 'leaf'), { message: /is not a CA/ });
  t.throws(() => parseCertificateAuthority({ certPem: ca.certPem, keyPem: 'garbage' }, 'x'), { message: /^x: the CA key is not a PEM RSA private key$/ });
});

t.test('serial numbers are positive, minimally encoded DER integers with 126 random bits', async (t) => {
  const seen = new Set<string>();
  let badShape = 0;
  for (let i = 0; i < 20_000; i++) {
    const s = randomSerial();
    if (!/^[4-7][0-9a-f]{31}$/.test(s)) badShape++;
    seen.add(s);
  }
  t.equal(badShape, 0, 'first byte 0x40-0x7f: no sign bit, no leading zero byte (OpenSSL 3 refuses "illegal padding")');
  t.equal(seen.size, 20_000, 'no repeats');
  const ca = createCertificateAuthority({ commonName: 'serial CA', days: 1 });
  const x = new X509Certificate(ca.certPem);
  t.match(x.serialNumber, /^[4-7][0-9A-F]{31}$/, 'what OpenSSL reads back');
});
