// Issue 21: metrics on their own plain-HTTP port (TLS optional), build info,
// certificate expiry, one denial count per review and rule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { buildInfo } from '../../src/release/build-info.js';
import { startWebhookServer } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

async function start(t: Test, tls: boolean) {
  const dir = t.testdir({});
  const log = capturingLogger();
  const s = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: DEFAULT_CONFIG_PATH, statePaths: [], shutdownDelayMs: 0, metrics: { host: '127.0.0.1', port: 0, tls } },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => s.shutdown('test end'));
  return { s, log, ca: readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8') };
}

t.test('plain HTTP /metrics on its own port: build info, certificate expiry, one denial per review and rule', async (t) => {
  const { s, ca, log } = await start(t, false);
  t.match(s.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(log.lines().find((l) => l.msg === 'tenant-guard serving'), { metrics: `${s.metricsUrl}/metrics` });
  const optOut = knativeService('tenant-1', 'hello');
  optOut.spec.template.metadata = { annotations: { 'sidecar.istio.io/inject': 'false' } };
  const review = reviewOf(inputFor(optOut, ALICE));
  // The API server's two calls of one request carry one uid.
  for (const path of ['/mutate', '/validate']) t.equal(JSON.parse((await httpsCall(`${s.url}${path}`, { ca, body: review })).body).response.allowed, false);
  const res = await fetch(`${s.metricsUrl}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain/);
  const text = await res.text();
  const b = buildInfo();
  t.match(text, new RegExp(`tenant_guard_build_info\\{version="${b.version}",commit="${b.commit}",node="${process.versions.node}"\\} 1`));
  t.match(text, /tenant_guard_admission_denials_total\{rule="TG-WORKLOAD-INJECT-OPTOUT"\} 1\n/, 'counted once for /mutate and /validate');
  t.match(text, /tenant_guard_admission_requests_total\{endpoint="mutate",kind="serving\.knative\.dev\/Service",operation="CREATE",decision="denied"\} 1/);
  const expiry = Number(/^tenant_guard_tls_certificate_expiry_timestamp_seconds (\S+)$/m.exec(text)?.[1]);
  t.ok(expiry > Date.now() / 1000, 'the served certificate expires in the future');
  t.equal((await fetch(`${s.metricsUrl}/healthz`)).status, 200);
  // The webhook port keeps /metrics too (same registry).
  t.match((await httpsCall(`${s.url}/metrics`, { ca })).body, /tenant_guard_build_info/);
});

t.test('--metrics-tls: the metrics port over HTTPS with the webhook certificate', async (t) => {
  const { s, ca } = await start(t, true);
  t.match(s.metricsUrl, /^https:\/\//);
  const r = await httpsCall(`${s.metricsUrl}/metrics`, { ca });
  t.equal(r.status, 200);
  t.match(r.body, /tenant_guard_build_info/);
});
