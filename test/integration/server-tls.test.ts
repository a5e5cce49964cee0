import { Agent } from 'node:https';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { symlinkSync, renameSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createCertificateAuthority, createServingCertificate } from '../../src/certs/generate.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/limits.js';
import { startWebhookServer } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const ca = createCertificateAuthority({ commonName: 'test CA', days: 2 });
const first = createServingCertificate({ ca, dnsNames: ['first.test'], ipAddresses: ['127.0.0.1'], days: 1 });
const second = createServingCertificate({ ca, dnsNames: ['second.test'], ipAddresses: ['127.0.0.1'], days: 1 });

/** The kubelet's Secret volume layout: tls.crt -> ..data/tls.crt, ..data -> ..<version>/. */
function secretVolume(dir: string, version: string, pair: { certPem: string; keyPem: string }): void {
  mkdirSync(join(dir, version));
  writeFileSync(join(dir, version, 'tls.crt'), pair.certPem);
  writeFileSync(join(dir, version, 'tls.key'), pair.keyPem, { mode: 0o600 });
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
}

t.test('real TLS: serving, TLS floor, HTTP/1.1, rotation without a restart', async (t) => {
  const dir = t.testdir();
  secretVolume(dir, '..v1', first);
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  const log = capturingLogger();
  const server = await startWebhookServer(
    {
      host: '127.0.0.1',
      port: 0,
      tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
      configFile: DEFAULT_CONFIG_PATH,
      statePaths: [],
      shutdownDelayMs: 0,
      filePollMs: 200,
    },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => server.shutdown('test end'));
  const url = server.url;
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.ok((server.app.server as unknown as { keepAliveTimeout: number }).keepAliveTimeout >= 90_000, 'idle connections outlive the API server client (90 s)');
  t.equal((server.app.server as unknown as { keepAliveTimeout: number }).keepAliveTimeout, KEEP_ALIVE_TIMEOUT_MS);

  const review = reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE));
  const r = await httpsCall(`${url}/validate`, { ca: ca.certPem, body: review });
  t.equal(r.status, 200);
  t.equal(JSON.parse(r.body).response.allowed, true);
  t.equal(r.peerCN, 'first.test');

  await t.rejects(httpsCall(`${url}/healthz`, { ca: ca.certPem, tls: { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' } }), 'TLS 1.1 is refused');
  const alpn = await new Promise<string | false>((resolve, reject) => {
    import('node:tls').then(({ connect }) => {
      const s = connect({ host: '127.0.0.1', port: server.address.port, ca: ca.certPem, ALPNProtocols: ['h2', 'http/1.1'], servername: 'first.test' }, () => {
        resolve(s.alpnProtocol ?? false);
        s.end();
      });
      s.on('error', reject);
    }, reject);
  });
  t.equal(alpn, 'http/1.1', 'HTTP/2 is not offered');

  // A kept-alive connection made before the rotation, and a stream of requests on fresh connections during it.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  t.equal((await httpsCall(`${url}/healthz`, { ca: ca.certPem, agent: keepAlive })).peerCN, 'first.test');

  let stop = false;
  const seen: string[] = [];
  const failures: string[] = [];
  const stream = (async () => {
    while (!stop) {
      try {
        const res = await httpsCall(`${url}/validate`, { ca: ca.certPem, body: review });
        if (res.status !== 200 || JSON.parse(res.body).response.allowed !== true) failures.push(`${res.status} ${res.body}`);
        seen.push(res.peerCN ?? '?');
      } catch (e) {
        failures.push(String(e));
      }
      await sleep(5);
    }
  })();
  await sleep(200);
  secretVolume(dir, '..v2', second);
  for (let i = 0; i < 100 && seen.at(-1) !== 'second.test'; i++) await sleep(50);
  await sleep(200);
  stop = true;
  await stream;
  t.same(failures, [], 'no request failed during the rotation');
  t.equal(seen[0], 'first.test');
  t.equal(seen.at(-1), 'second.test', 'new connections get the rotated certificate');
  const switchAt = seen.indexOf('second.test');
  t.ok(seen.slice(switchAt).every((cn) => cn === 'second.test'), 'once rotated, never back');
  t.ok(seen.length > 10, `${seen.length} requests streamed`);
  t.ok(log.lines().some((l) => l.msg === 'TLS certificate reloaded' && l.subject === 'CN=second.test'));

  const still = await httpsCall(`${url}/healthz`, { ca: ca.certPem, agent: keepAlive });
  t.equal(still.status, 200, 'the old keep-alive connection still works');

  // A bad pair (a key of another certificate) is refused; the rotated pair keeps being served.
  const bad = createServingCertificate({ ca, dnsNames: ['bad.test'], ipAddresses: ['127.0.0.1'], days: 1 });
  secretVolume(dir, '..v3', { certPem: bad.certPem, keyPem: second.keyPem });
  for (let i = 0; i < 60 && !log.lines().some((l) => l.errorCode === 'TG_ERR_TLS'); i++) await sleep(50);
  t.ok(log.lines().some((l) => l.errorCode === 'TG_ERR_TLS'), 'the bad pair is logged');
  t.equal((await httpsCall(`${url}/healthz`, { ca: ca.certPem })).peerCN, 'second.test', 'the previous pair is still served');
  t.match(await (await httpsCall(`${url}/metrics`, { ca: ca.certPem })).body, /tenant_guard_tls_reloads_total\{result="error"\} 1/);
});
