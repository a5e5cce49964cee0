import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCerts } from '../../src/cli/certs.js';
import { fakeIO } from '../unit/server/fake-io.js';

t.test('writes CA and serving pair with the SANs asked for', async (t) => {
  const cwd = t.testdir();
  const io = fakeIO(cwd);
  const code = await runCerts(['--out', 'out', '--dns', 'tenant-guard.tenant-guard-system.svc', '--ip', '127.0.0.1', '--days', '10'], io);
  t.equal(code, 0, io.err());
  const dir = join(cwd, 'out');
  t.match(io.out(), /serving certificate for DNS:tenant-guard\.tenant-guard-system\.svc, IP:127\.0\.0\.1, valid 10 days/);
  t.match(io.out(), /wrote .*ca\.key/);
  t.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
  const x = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
  t.equal(x.subjectAltName, 'DNS:tenant-guard.tenant-guard-system.svc, IP Address:127.0.0.1');
  t.ok(x.checkIssued(new X509Certificate(readFileSync(join(dir, 'ca.crt')))));
  t.notMatch(io.out() + io.err(), /PRIVATE KEY/, 'keys never printed');
});

t.test('--print-ca-bundle prints only the base64 CA on stdout', async (t) => {
  const cwd = t.testdir();
  const io = fakeIO(cwd);
  t.equal(await runCerts(['--out', '.', '--dns', 'localhost', '--print-ca-bundle'], io), 0, io.err());
  const bundle = io.out().trim();
  t.match(bundle, /^[A-Za-z0-9+/=]+$/);
  t.equal(Buffer.from(bundle, 'base64').toString(), readFileSync(join(cwd, 'ca.crt'), 'utf8'));
  t.match(io.err(), /wrote/);
});

t.test('existing files are kept unless --force', async (t) => {
  const cwd = t.testdir();
  t.equal(await runCerts(['--out', 'o', '--dns', 'a.example'], fakeIO(cwd)), 0);
  const before = readFileSync(join(cwd, 'o', 'tls.crt'), 'utf8');
  const io = fakeIO(cwd);
  t.equal(await runCerts(['--out', 'o', '--dns', 'b.example'], io), 2);
  t.match(io.err(), /TG_ERR_CERTS: .*already exist; pass --force/);
  t.equal(readFileSync(join(cwd, 'o', 'tls.crt'), 'utf8'), before);
  t.equal(await runCerts(['--out', 'o', '--dns', 'b.example', '--force'], fakeIO(cwd)), 0);
  t.equal(new X509Certificate(readFileSync(join(cwd, 'o', 'tls.crt'))).checkHost('b.example'), 'b.example');
});

t.test('--ca-cert/--ca-key sign with an existing CA and do not copy its key', async (t) => {
  const cwd = t.testdir();
  t.equal(await runCerts(['--out', 'ca', '--dns', 'unused'], fakeIO(cwd)), 0);
  const io = fakeIO(cwd);
  t.equal(await runCerts(['--out', 'leaf', '--ip', '127.0.0.1', '--ca-cert', 'ca/ca.crt', '--ca-key', 'ca/ca.key'], io), 0, io.err());
  t.equal(readFileSync(join(cwd, 'leaf', 'ca.crt'), 'utf8'), readFileSync(join(cwd, 'ca', 'ca.crt'), 'utf8'));
  t.notOk(existsSync(join(cwd, 'leaf', 'ca.key')));
  t.ok(new X509Certificate(readFileSync(join(cwd, 'leaf', 'tls.crt'))).checkIssued(new X509Certificate(readFileSync(join(cwd, 'ca', 'ca.crt')))));
  const bad = fakeIO(cwd);
  t.equal(await runCerts(['--out', 'x', '--ip', '127.0.0.1', '--ca-cert', 'ca/ca.crt', '--ca-key', 'leaf/tls.key'], bad), 2);
  t.match(bad.err(), /TG_ERR_CERTS: .*the CA key does not belong to the CA certificate/);
});

t.test('usage errors', async (t) => {
  const cwd = t.testdir();
  const cases: [string[], RegExp][] = [
    [['--dns', 'a'], /--out DIR is required/],
    [['--out', 'o'], /TG_ERR_CERTS: a serving certificate needs at least one/],
    [['--out', 'o', '--dns', 'a', '--days', 'ten'], /--days must be a whole number/],
    [['--out', 'o', '--dns', 'a', '--ca-cert', 'x'], /--ca-cert and --ca-key go together/],
    [['--out', 'o', '--bogus'], /TG_ERR_USAGE: Unknown option '--bogus'/],
  ];
  for (const [argv, re] of cases) {
    const io = fakeIO(cwd);
    t.equal(await runCerts(argv, io), 2, argv.join(' '));
    t.match(io.err(), re, argv.join(' '));
  }
  t.notOk(existsSync(join(cwd, 'o')), 'nothing written on a usage error');
  const help = fakeIO(cwd);
  t.equal(await runCerts(['--help'], help), 0);
  t.match(help.out(), /usage: tenant-guard certs/);
});
