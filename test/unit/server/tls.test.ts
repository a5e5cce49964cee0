import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecureContextOptions } from 'node:tls';
import t from 'tap';
import { Registry } from 'prom-client';
import { createCertificateAuthority, createServingCertificate } from '../../../src/certs/generate.js';
import { createServerMetrics } from '../../../src/server/metrics.js';
import { loadTlsPair, TlsReloader } from '../../../src/server/tls.js';
import { capturingLogger } from './reviews.js';

const ca = createCertificateAuthority({ commonName: 'ca', days: 2 });
const one = createServingCertificate({ ca, dnsNames: ['one.example'], ipAddresses: [], days: 1 });
const two = createServingCertificate({ ca, dnsNames: ['two.example'], ipAddresses: [], days: 1 });

t.test('loadTlsPair checks the pair', async (t) => {
  const dir = t.testdir({ 'tls.crt': one.certPem, 'tls.key': one.keyPem, 'other.key': two.keyPem, 'junk.crt': 'junk' });
  const pair = loadTlsPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
  t.equal(pair.subject, 'CN=one.example');
  t.throws(() => loadTlsPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'other.key') }), { code: 'TG_ERR_TLS', message: /are not a usable pair/ });
  t.throws(() => loadTlsPair({ certFile: join(dir, 'junk.crt'), keyFile: join(dir, 'tls.key') }), { code: 'TG_ERR_TLS', message: /is not a PEM certificate/ });
  t.throws(() => loadTlsPair({ certFile: join(dir, 'nope.crt'), keyFile: join(dir, 'tls.key') }), { code: 'TG_ERR_TLS', message: /cannot read the TLS certificate .*no such file or directory/ });
  t.throws(() => loadTlsPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, new Date(Date.now() + 3 * 86_400_000)), {
    code: 'TG_ERR_TLS',
    message: /expired/,
  });
});

t.test('reloader swaps the context on a good pair and keeps the old one on a bad pair', async (t) => {
  const dir = t.testdir({ 'tls.crt': one.certPem, 'tls.key': one.keyPem });
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const applied: SecureContextOptions[] = [];
  const log = capturingLogger();
  const metrics = createServerMetrics(new Registry());
  const r = new TlsReloader({ setSecureContext: (o) => applied.push(o) }, files, loadTlsPair(files), log.logger, metrics);
  t.equal(r.reload(), false, 'unchanged');

  writeFileSync(files.certFile, two.certPem); // new cert, old key: mismatched
  t.equal(r.reload(), false);
  t.equal(applied.length, 0, 'bad pair never applied');
  t.match(log.lines().at(-1), { level: 50, errorCode: 'TG_ERR_TLS', msg: /keeping the previous certificate/ });
  t.notMatch(log.text(), /PRIVATE KEY/, 'key never logged');

  writeFileSync(files.keyFile, two.keyPem);
  t.equal(r.reload(), true);
  t.equal(applied.length, 1);
  t.equal(applied[0]!.cert, two.certPem);
  t.equal(applied[0]!.minVersion, 'TLSv1.2', 'reloaded context keeps the TLS floor');
  const m = await metrics.registry.metrics();
  t.match(m, /tenant_guard_tls_reloads_total\{result="success"\} 1/);
  t.match(m, /tenant_guard_tls_reloads_total\{result="error"\} 1/);
});

t.test('watch picks up a rewrite without an explicit reload', async (t) => {
  const dir = t.testdir({ 'tls.crt': one.certPem, 'tls.key': one.keyPem });
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const applied: SecureContextOptions[] = [];
  const r = new TlsReloader({ setSecureContext: (o) => applied.push(o) }, files, loadTlsPair(files), capturingLogger().logger).watch({ pollMs: 100, debounceMs: 50 });
  t.teardown(() => r.close());
  writeFileSync(files.keyFile, two.keyPem);
  writeFileSync(files.certFile, two.certPem);
  for (let i = 0; i < 50 && applied.length === 0; i++) await sleep(50);
  t.equal(applied.length, 1);
});
