// Issue 21: the opt-in monitoring pack of the chart (ServiceMonitor,
// PodMonitor, PrometheusRule, Grafana dashboard), rendered by real helm; the
// alerts and the dashboard name only metrics tenant-guard really exports; the
// chart refuses a serving certificate outliving its CA.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Registry } from 'prom-client';
import { createServerMetrics } from '../../src/server/metrics.js';
import { CHART, FULLNAME, NAMESPACE, ROOT, find, render, template } from './chart-helm.js';

const ALL = ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.podMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.dashboard.enabled=true', '--set', 'policyReports.enabled=true'];

/**
 * Every metric name tenant-guard registers: the server's own (from its
 * factory, as `serve` builds them) and those the cluster watcher and the
 * controllers register (their names, read from where they are registered in src/).
 */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const registry = new Registry();
  createServerMetrics(registry);
  for (const m of registry.getMetricsAsArray()) names.add(m.name);
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
  for (const file of walk(join(ROOT, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:name: |gauge\(registry, |counter\(registry, |histogram\(registry, )'(tenant_guard_[a-z_]+)'/g)) names.add(m[1]!);
  }
  return names;
}

/** Metric names in a PromQL expression (histogram series suffixes dropped). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\btenant_guard_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

t.test('off by default: no monitoring objects', async (t) => {
  const kinds = render().map((d) => d.kind);
  for (const k of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) t.notOk(kinds.includes(k), k);
  t.notOk(render().some((d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard')));
});

t.test('ServiceMonitor and PodMonitor scrape the metrics port of the release\'s pods', async (t) => {
  const docs = render([...ALL, '--set', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack']);
  const sm = find(docs, 'ServiceMonitor');
  t.equal(sm.metadata.namespace, NAMESPACE);
  t.equal(sm.metadata.labels?.release, 'kube-prometheus-stack');
  t.same(sm.spec.endpoints, [{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
  const svc = find(docs, 'Service');
  t.same(sm.spec.selector.matchLabels, svc.spec.selector, 'selects the Service');
  t.ok(svc.spec.ports.some((p: { name: string }) => p.name === 'metrics'), 'whose metrics port it scrapes');
  const pm = find(docs, 'PodMonitor');
  t.same(pm.spec.podMetricsEndpoints, [{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
  const container = find(docs, 'Deployment').spec.template.spec.containers[0];
  t.ok(container.ports.some((p: { name: string; containerPort: number }) => p.name === 'metrics' && p.containerPort === 9090));
  const tls = find(render([...ALL, '--set', 'metrics.tls=true', '--set', 'metrics.port=9443']), 'ServiceMonitor');
  t.match(tls.spec.endpoints[0], { scheme: 'https', tlsConfig: { insecureSkipVerify: true } });
  const args = find(render(['--set', 'metrics.tls=true', '--set', 'metrics.port=9443']), 'Deployment').spec.template.spec.containers[0].args;
  t.ok(args.includes('--metrics-port=9443') && args.includes('--metrics-tls'));
});

t.test('PrometheusRule: the alerts, each naming only metrics the server exports', async (t) => {
  const rule = find(render(ALL), 'PrometheusRule');
  const rules = rule.spec.groups[0].rules as { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }[];
  t.same(rules.map((r) => r.alert).sort(), [
    'TenantGuardAdmissionErrors', 'TenantGuardAdmissionSlow', 'TenantGuardBaselineDrift', 'TenantGuardBaselineLagging',
    'TenantGuardCertificateExpiring', 'TenantGuardNoLeader', 'TenantGuardPolicyReportFailures', 'TenantGuardReloadRefused',
  ]);
  const exported = exportedMetrics();
  for (const r of rules) {
    const used = metricsIn(r.expr);
    t.ok(used.length > 0, `${r.alert} reads a tenant-guard metric`);
    for (const m of used) t.ok(exported.has(m), `${r.alert}: ${m} is exported`);
    t.match(r.expr, new RegExp(`namespace="${NAMESPACE}"`), `${r.alert} is scoped to the release namespace`);
    t.ok(r.labels.severity && r.annotations.summary, `${r.alert} has a severity and a summary`);
  }
  const noReports = find(render([...ALL, '--set', 'policyReports.enabled=false']), 'PrometheusRule');
  t.notOk(noReports.spec.groups[0].rules.some((r: { alert: string }) => r.alert === 'TenantGuardPolicyReportFailures'), 'report alert only with PolicyReports');
});

t.test('the Grafana dashboard: valid JSON in a labelled ConfigMap, querying only exported metrics', async (t) => {
  const cm = find(render(ALL), 'ConfigMap', `${FULLNAME}-dashboard`);
  t.equal(cm.metadata.labels?.grafana_dashboard, '1');
  const dashboard = JSON.parse(cm.data['tenant-guard.json']);
  t.same(dashboard, JSON.parse(readFileSync(join(CHART, 'dashboards/tenant-guard.json'), 'utf8')), 'the file, verbatim');
  t.equal(dashboard.uid, 'tenant-guard');
  const exported = exportedMetrics();
  const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((x) => x.expr));
  t.ok(exprs.length >= 10);
  for (const e of exprs) for (const m of metricsIn(e)) t.ok(exported.has(m), `dashboard: ${m} is exported`);
  t.equal(find(render([...ALL, '--set', 'metrics.dashboard.namespace=grafana']), 'ConfigMap', `${FULLNAME}-dashboard`).metadata.namespace, 'grafana');
});

t.test('tls.self.certValidity longer than caValidity is refused at render (it would crash-loop the pods)', async (t) => {
  const r = template(['--set', 'tls.self.certValidity=400d']);
  t.not(r.status, 0);
  t.match(r.stderr, /tls\.self\.certValidity \(400d\) is longer than tls\.self\.caValidity \(365d\)/);
  t.equal(template(['--set', 'tls.self.certValidity=8760h']).status, 0, 'equal lifetimes (8760h = 365d) render');
  t.equal(template(['--set', 'tls.self.certValidity=400d', '--set', 'certManager.enabled=true']).status, 0, 'not checked when mode self is not the source');
  t.not(template(['--set', 'metrics.port=8443']).status, 0, 'metrics on the webhook port is refused');
});
