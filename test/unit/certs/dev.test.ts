import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ensureDevCertificates } from '../../../src/certs/dev.js';
import { caBundle, writeFileAtomic } from '../../../src/certs/files.js';

t.test('first call generates a CA and a loopback serving pair, keys 0600', async (t) => {
  const dir = join(t.testdir(), 'certs');
  const r = ensureDevCertificates(dir);
  t.equal(r.generated, true);
  for (const f of ['ca.key', 'tls.key']) t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  for (const f of ['ca.crt', 'tls.crt']) t.equal(statSync(join(dir, f)).mode & 0o077, 0o044 & statSync(join(dir, f)).mode & 0o077, `${f} readable`);
  const x = new X509Certificate(readFileSync(r.certFile));
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(x.checkHost('localhost'), 'localhost');
  t.ok(x.checkIssued(new X509Certificate(readFileSync(r.caFile))));
});

t.test('an existing pair is kept; a missing pair is re-signed by the existing CA', async (t) => {
  const dir = t.testdir();
  const first = ensureDevCertificates(dir);
  const cert = readFileSync(first.certFile, 'utf8');
  t.equal(ensureDevCertificates(dir).generated, false);
  t.equal(readFileSync(first.certFile, 'utf8'), cert, 'untouched');
  const ca = readFileSync(first.caFile, 'utf8');
  rmSync(first.certFile);
  t.equal(ensureDevCertificates(dir).generated, true);
  t.equal(readFileSync(first.caFile, 'utf8'), ca, 'CA reused, so clients that trust it keep working');
  t.not(readFileSync(first.certFile, 'utf8'), cert);
  t.ok(new X509Certificate(readFileSync(first.certFile)).checkIssued(new X509Certificate(ca)));
});

t.test('atomic write leaves no temporary file and refuses a missing directory with TG_ERR_CERTS', async (t) => {
  const dir = t.testdir({ 'old.txt': 'old' });
  writeFileAtomic(join(dir, 'old.txt'), 'new', 0o600);
  t.equal(readFileSync(join(dir, 'old.txt'), 'utf8'), 'new');
  t.throws(() => writeFileAtomic(join(dir, 'nope', 'x'), 'y', 0o600), { code: 'TG_ERR_CERTS', message: /cannot write .*no such file or directory/ });
  writeFileSync(join(dir, 'ca.crt'), 'PEM');
  t.equal(Buffer.from(caBundle('PEM'), 'base64').toString(), 'PEM');
});
