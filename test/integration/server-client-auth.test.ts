// serve --client-ca over real TLS: only a client with a certificate from the
// client CA and an accepted CN gets an admission review answered.
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { createCertificateAuthority, createClientCertificate, createServingCertificate } from '../../src/certs/generate.js';
import { startWebhookServer } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const servingCa = createCertificateAuthority({ commonName: 'serving CA', days: 2 });
const serving = createServingCertificate({ ca: servingCa, dnsNames: ['tg.test'], ipAddresses: ['127.0.0.1'], days: 1 });
const clientCa = createCertificateAuthority({ commonName: 'client CA', days: 2 });
const apiServer = createClientCertificate({ ca: clientCa, commonName: 'kube-apiserver', days: 1 });
const wrongCn = createClientCertificate({ ca: clientCa, commonName: 'system:serviceaccount:tenant-1:default', days: 1 });
const otherCa = createCertificateAuthority({ commonName: 'some other CA', days: 2 });
const forged = createClientCertificate({ ca: otherCa, commonName: 'kube-apiserver', days: 1 });
const review = reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE));

async function start(t: Test, commonNames: string[]) {
  const dir = t.testdir();
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem);
  writeFileSync(join(dir, 'client-ca.crt'), clientCa.certPem);
  const log = capturingLogger();
  const server = await startWebhookServer(
    {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
      clientAuth: { caFile: join(dir, 'client-ca.crt'), commonNames },
      configFile: DEFAULT_CONFIG_PATH,
      statePaths: [],
      shutdownDelayMs: 0,
      filePollMs: 100,
    },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => server.shutdown('test end'));
  return { server, log, dir };
}

const call = (url: string, client?: { certPem: string; keyPem: string }, body: unknown = review) =>
  httpsCall(url, { ca: servingCa.certPem, ...(body === null ? {} : { body }), ...(client ? { tls: { cert: client.certPem, key: client.keyPem } } : {}) });

t.test('--client-ca: refused without a certificate, with a wrong CN or another CA; answered with the API server certificate', async (t) => {
  const { server, log } = await start(t, []);
  const validate = `${server.url}/validate`;

  const none = await call(validate);
  t.equal(none.status, 403, 'no client certificate: refused');
  t.equal(JSON.parse(none.body).code, 'TG_ERR_CLIENT_UNAUTHORIZED');
  t.notMatch(none.body, /tenant-1|allowed/, 'nothing of the review is answered');

  const cn = await call(`${server.url}/mutate`, wrongCn);
  t.equal(cn.status, 403, 'a certificate of the client CA with another CN: refused');
  t.equal(JSON.parse(cn.body).code, 'TG_ERR_CLIENT_UNAUTHORIZED');

  const other = await call(validate, forged);
  t.equal(other.status, 403, 'the right CN from another CA: refused');

  const ok = await call(validate, apiServer);
  t.equal(ok.status, 200);
  t.equal(JSON.parse(ok.body).response.allowed, true, 'the API server gets its review answered');

  // The kubelet's probes present no certificate.
  t.equal((await call(`${server.url}/healthz`, undefined, null)).status, 200, '/healthz answers a probe without a certificate');
  t.equal((await call(`${server.url}/readyz`, undefined, null)).status, 200, '/readyz too');

  const metrics = await call(`${server.url}/metrics`, undefined, null);
  t.match(metrics.body, /tenant_guard_requests_refused_total\{reason="client_unauthorized"\} 3/);
  const warnings = log.lines().filter((l) => l.errorCode === 'TG_ERR_CLIENT_UNAUTHORIZED');
  t.equal(warnings.length, 1, 'refusals are logged with a rate limit (one line for three refusals here)');
  t.notOk(log.lines().some((l) => /any client/.test(String(l.msg))), 'no warning about unauthenticated callers');
});

t.test('--client-cn is repeatable and replaces the default', async (t) => {
  const { server } = await start(t, ['webhook-client', 'system:serviceaccount:tenant-1:default']);
  t.equal((await call(`${server.url}/validate`, wrongCn)).status, 200, 'a listed CN is answered');
  t.equal((await call(`${server.url}/validate`, apiServer)).status, 403, 'kube-apiserver is no longer accepted once CNs are listed');
});

t.test('the client CA file is reloaded like the serving pair; a bad new file keeps the old CA', async (t) => {
  const { server, log, dir } = await start(t, []);
  const validate = `${server.url}/validate`;
  t.equal((await call(validate, apiServer)).status, 200);

  writeFileSync(join(dir, 'client-ca.tmp'), 'not a certificate');
  renameSync(join(dir, 'client-ca.tmp'), join(dir, 'client-ca.crt'));
  for (let i = 0; i < 50 && !log.lines().some((l) => l.errorCode === 'TG_ERR_TLS'); i++) await sleep(100);
  t.ok(log.lines().some((l) => l.errorCode === 'TG_ERR_TLS'), 'the bad bundle is refused and reported');
  t.equal((await call(validate, apiServer)).status, 200, 'the previous CA is kept');

  const nextCa = createCertificateAuthority({ commonName: 'next client CA', days: 2 });
  const next = createClientCertificate({ ca: nextCa, commonName: 'kube-apiserver', days: 1 });
  writeFileSync(join(dir, 'client-ca.tmp'), nextCa.certPem);
  renameSync(join(dir, 'client-ca.tmp'), join(dir, 'client-ca.crt'));
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    await sleep(100);
    status = (await call(validate, next)).status;
  }
  t.equal(status, 200, 'a certificate of the new CA is accepted on a fresh connection');
  t.equal((await call(validate, apiServer)).status, 403, 'one of the replaced CA is not');
});

t.test('without --client-ca the server says once that anyone may call it', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem);
  const log = capturingLogger();
  const server = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, configFile: DEFAULT_CONFIG_PATH, statePaths: [], shutdownDelayMs: 0 },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => server.shutdown('test end'));
  t.equal((await call(`${server.url}/validate`)).status, 200);
  t.equal(log.lines().filter((l) => l.level === 40 && /any client/.test(String(l.msg))).length, 1);
});
