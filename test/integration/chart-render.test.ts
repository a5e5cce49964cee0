// The chart's default render: the objects a platform team gets, and how the
// Deployment, RBAC and tenancy ConfigMap are shaped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { serveOptions } from '../../src/cli/serve.js';
import { WATCHED_KINDS } from '../../src/cluster/informers.js';
import { parseTenancyConfig, parseTenancyConfigText } from '../../src/config/load.js';
import { tenancyConfigSchema } from '../../src/config/schema.js';
import { CHART, FULLNAME, NAMESPACE, find, render } from './chart-helm.js';

const docs = render();

t.test('renders exactly the expected objects, each in the release namespace when namespaced', async (t) => {
  const got = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
  t.same(got, [
    `ClusterRole/${FULLNAME}`,
    `ClusterRole/${FULLNAME}-cabundle`,
    `ClusterRole/${FULLNAME}-controllers`,
    `ClusterRoleBinding/${FULLNAME}`,
    `ClusterRoleBinding/${FULLNAME}-cabundle`,
    `ClusterRoleBinding/${FULLNAME}-controllers`,
    `ConfigMap/${FULLNAME}-config`,
    `Deployment/${FULLNAME}`,
    `MutatingWebhookConfiguration/${FULLNAME}`,
    `NetworkPolicy/${FULLNAME}`,
    `PodDisruptionBudget/${FULLNAME}`,
    `Role/${FULLNAME}-leader-election`,
    `Role/${FULLNAME}-leases`,
    `Role/${FULLNAME}-self-certs`,
    `RoleBinding/${FULLNAME}-leader-election`,
    `RoleBinding/${FULLNAME}-leases`,
    `RoleBinding/${FULLNAME}-self-certs`,
    `Service/${FULLNAME}`,
    `ServiceAccount/${FULLNAME}`,
    `ValidatingWebhookConfiguration/${FULLNAME}`,
  ]);
  const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
  for (const d of docs) {
    t.equal(d.metadata.namespace, clusterScoped.has(d.kind) ? undefined : NAMESPACE, `${d.kind} namespace`);
    t.equal(d.metadata.labels?.['app.kubernetes.io/instance'], 'tg', `${d.kind} labels`);
  }
});

t.test('Deployment: highly available, probed over HTTPS, locked down', async (t) => {
  const dep = find(docs, 'Deployment');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  t.equal(dep.spec.replicas, 2);
  t.same(dep.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
  t.equal(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  t.same(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels, dep.spec.selector.matchLabels);

  t.same(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  t.same(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  t.same(c.ports, [{ name: 'https', containerPort: 8443, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
  t.same(c.args, [
    'serve', '--host=0.0.0.0', '--port=8443', '--metrics-port=9090', '--metrics-host=0.0.0.0',
    `--self-certs=${NAMESPACE}/${FULLNAME}-tls`,
    `--cert-dns=${FULLNAME}`, `--cert-dns=${FULLNAME}.${NAMESPACE}`, `--cert-dns=${FULLNAME}.${NAMESPACE}.svc`, `--cert-dns=${FULLNAME}.${NAMESPACE}.svc.cluster.local`,
    `--mutating-webhook=${FULLNAME}`, `--validating-webhook=${FULLNAME}`,
    '--self-certs-dir=/tmp/self-certs',
    '--ca-validity=365d', '--cert-validity=90d', '--renew-at=0.67', '--ca-settle=30s', '--ca-overlap=2m',
    `--leader-lease=${NAMESPACE}/${FULLNAME}-controllers`,
    '--config=/config/tenancy.yaml', '--in-cluster', '--log-level=info', '--shutdown-delay=5s',
    '--controllers', `--lease-namespace=${NAMESPACE}`, `--lease-name=${FULLNAME}-controllers`, '--lease-duration=15s',
  ]);
  t.same(c.env, [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], 'the pod name is the Lease holder identity');
  t.ok(pod.terminationGracePeriodSeconds > 5 + 5, 'grace period outlives shutdown delay + webhook timeout');
  t.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'resources set');

  t.equal(pod.securityContext.runAsNonRoot, true);
  t.equal(pod.securityContext.runAsUser, 65532);
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  t.same(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  t.equal(dep.spec.template.metadata.labels['sidecar.istio.io/inject'], 'false', 'no sidecar between the API server and the webhook');

  // Whole-volume mounts: subPath mounts never see a Secret or ConfigMap update.
  for (const m of c.volumeMounts) t.notOk(m.subPath, `${m.name} mounted without subPath`);
  const vols = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
  t.notOk(vols.tls, 'mode self reads its Secret through the API: no Secret volume');
  t.equal(vols.config.configMap.name, `${FULLNAME}-config`);
  t.ok(vols.tmp.emptyDir, 'writable /tmp on a read-only root');
  t.equal(pod.serviceAccountName, FULLNAME);
});

t.test('the Deployment\'s args are what `tenant-guard serve` accepts, meaning what the chart intends', async (t) => {
  const c = find(docs, 'Deployment').spec.template.spec.containers[0];
  t.equal(c.args[0], 'serve');
  const parsed = serveOptions(c.args.slice(1));
  if (parsed === 'help') throw new Error('the args ask for help');
  const controllers = parsed.options.certsAndReports;
  t.same(controllers?.leaderLease, { namespace: NAMESPACE, name: `${FULLNAME}-controllers` }, 'one Lease: the baseline controller\'s');
  t.match(controllers?.selfCerts, {
    namespace: NAMESPACE,
    secretName: `${FULLNAME}-tls`,
    dir: '/tmp/self-certs',
    webhooks: { mutating: FULLNAME, validating: FULLNAME },
    settings: { caLifetimeMs: 365 * 86_400_000, servingLifetimeMs: 90 * 86_400_000, renewFraction: 0.67, settleMs: 30_000, overlapMs: 120_000 },
  });
  t.equal(controllers?.selfCerts?.settings.dnsNames.length, 4);
  t.equal(parsed.options.configFile, '/config/tenancy.yaml');
  t.same(parsed.options.cluster, { inCluster: true });
  t.equal(parsed.options.host, '0.0.0.0');
  t.equal(parsed.options.port, 8443);
  t.equal(parsed.options.shutdownDelayMs, 5000);
  t.equal(parsed.logLevel, 'info');
  t.same(parsed.options.controllers, {
    leaseNamespace: NAMESPACE,
    leaseName: `${FULLNAME}-controllers`,
    timings: { leaseDurationMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 2000 },
  });
  const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.mountPath]));
  t.equal(mounts.config, '/config');
  t.equal(mounts.tmp, '/tmp', '/tmp/self-certs is on the writable emptyDir');
});

t.test('Service 443 -> named port https (8443); PDB keeps one replica up', async (t) => {
  const svc = find(docs, 'Service');
  t.same(svc.spec.ports, [
    { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', appProtocol: 'https' },
    { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP', appProtocol: 'http' },
  ]);
  const dep = find(docs, 'Deployment');
  t.same(svc.spec.selector, dep.spec.selector.matchLabels);
  const pdb = find(docs, 'PodDisruptionBudget');
  t.equal(pdb.spec.maxUnavailable, 1);
  t.same(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
});

// Plural resource names of the kinds the server watches (src/cluster/informers.ts).
const PLURAL: Record<string, string> = {
  '/Namespace': 'namespaces',
  'security.istio.io/AuthorizationPolicy': 'authorizationpolicies',
  'security.istio.io/PeerAuthentication': 'peerauthentications',
  'security.istio.io/RequestAuthentication': 'requestauthentications',
  'networking.istio.io/DestinationRule': 'destinationrules',
  'networking.istio.io/Gateway': 'gateways',
  'networking.istio.io/VirtualService': 'virtualservices',
  'networking.istio.io/ServiceEntry': 'serviceentries',
  'networking.istio.io/Sidecar': 'sidecars',
  'networking.istio.io/EnvoyFilter': 'envoyfilters',
  'extensions.istio.io/WasmPlugin': 'wasmplugins',
  'serving.knative.dev/Service': 'services',
  'serving.knative.dev/Configuration': 'configurations',
  'serving.knative.dev/DomainMapping': 'domainmappings',
};

t.test('ClusterRole: get/list/watch on exactly the watched kinds, nothing else', async (t) => {
  const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === FULLNAME)!;
  const granted = new Set<string>();
  for (const rule of role.rules) {
    t.same([...rule.verbs].sort(), ['get', 'list', 'watch'], `read-only verbs for ${rule.apiGroups}`);
    t.notOk(rule.resourceNames, 'no resourceNames narrowing needed');
    for (const g of rule.apiGroups) for (const r of rule.resources) granted.add(`${g}/${r}`);
  }
  const needed = WATCHED_KINDS.map((gk) => {
    const plural = PLURAL[gk];
    if (!plural) throw new Error(`test needs the plural of ${gk}`);
    return `${gk.slice(0, gk.indexOf('/'))}/${plural}`;
  });
  t.same([...granted].sort(), [...needed].sort());
  const binding = docs.find((d) => d.kind === 'ClusterRoleBinding' && d.metadata.name === FULLNAME)!;
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
  t.equal(binding.roleRef.name, role.metadata.name);
});

t.test('controllers RBAC: exactly what the reconciler and leader election write', async (t) => {
  const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === `${FULLNAME}-controllers`)!;
  t.same(role.rules, [{ apiGroups: ['security.istio.io'], resources: ['peerauthentications', 'authorizationpolicies'], verbs: ['create', 'update', 'patch', 'delete'] }]);
  const lease = find(docs, 'Role');
  t.equal(lease.metadata.namespace, NAMESPACE, 'Leases only in the release namespace');
  t.same(lease.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [`${FULLNAME}-controllers`], verbs: ['get', 'update'] },
  ]);
  for (const b of docs.filter((d) => d.metadata.name.endsWith('-controllers') || d.metadata.name.endsWith('-leader-election')).filter((d) => d.kind.endsWith('Binding'))) {
    t.same(b.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }], b.metadata.name);
  }
  const off = render(['--set', 'controllers.enabled=false', '--set', 'tenancy.baseline.enabled=false']);
  t.same(off.filter((d) => /-controllers$|-leader-election$/.test(d.metadata.name)).map((d) => d.kind), [], 'no write access without the controllers');
  const args = find(off, 'Deployment').spec.template.spec.containers[0].args as string[];
  t.notOk(args.includes('--controllers'));
  t.throws(() => render(['--set', 'controllers.enabled=false']), /tenancy\.baseline\.enabled needs controllers\.enabled/);
});

t.test('tenancy ConfigMap: parses with the server\'s own loader, and the defaults are the schema\'s', async (t) => {
  const text = find(docs, 'ConfigMap').data['tenancy.yaml'];
  const parsed = parseTenancyConfigText(text, 'rendered ConfigMap');
  const schemaDefaults = parseTenancyConfig({ apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig' }, 'defaults');
  // The chart's two deliberate differences: the baseline is on, and tenant-guard's
  // own service account (its controllers) is a platform controller.
  schemaDefaults.baseline.enabled = true;
  schemaDefaults.platformControllers.users.push(`system:serviceaccount:${NAMESPACE}:${FULLNAME}`);
  // And the namespaces its webhooks skip are reserved names (TG-NS-RESERVED-NAME).
  schemaDefaults.reservedNamespaces = ['kube-node-lease', 'kube-public', 'kube-system', NAMESPACE].sort();
  t.same(parsed, schemaDefaults, 'values.yaml tenancy defaults equal src/config/schema.ts defaults, but for the baseline, the controllers and the reserved names');
});

t.test('tenancy ConfigMap carries tenants and peerings set through values', async (t) => {
  const tenants = [
    { name: 'tenant-1', admins: { users: ['alice'], groups: ['tenant-1-admins'] }, namespaces: ['tenant-1'] },
    { name: 'tenant-2', admins: { users: ['bob'], groups: [] }, namespaces: ['tenant-2', 'tenant-2-jobs'], revision: 'canary' },
  ];
  const out = render(['--set-json', `tenancy.tenants=${JSON.stringify(tenants)}`, '--set-json', 'tenancy.peerings=[{"from":"tenant-1","to":"tenant-2"}]']);
  const parsed = parseTenancyConfigText(find(out, 'ConfigMap').data['tenancy.yaml'], 'rendered ConfigMap');
  t.same(parsed.tenants, tenants);
  t.same(parsed.peerings, [{ from: 'tenant-1', to: 'tenant-2' }]);
});

t.test('values.schema.json validates tenancy exactly as src/config/schema.ts does', async (t) => {
  const values = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  const strip = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(strip) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'description').map(([k, x]) => [k, strip(x)])) : v;
  const expected: any = structuredClone(tenancyConfigSchema);
  // The chart writes apiVersion and kind itself; the values hold the rest.
  delete expected.$id;
  delete expected.required;
  delete expected.properties.apiVersion;
  delete expected.properties.kind;
  t.same(strip(values.properties.tenancy), expected);
});

t.test('enforcement and exceptions: a fresh install denies; values reach the config', async (t) => {
  const fresh = parseTenancyConfigText(find(docs, 'ConfigMap').data['tenancy.yaml'], 'rendered ConfigMap');
  t.same(fresh.enforcement, { action: 'deny', overrides: [] });
  t.same(fresh.exceptions, []);
  const tenants = [{ name: 'tenant-1', admins: { users: ['alice'], groups: [] }, namespaces: ['tenant-1'] }];
  const overrides = [{ rules: ['TG-WORKLOAD-*'], namespaces: ['tenant-1'], action: 'warn' }];
  const exceptions = [{ name: 'legacy', rules: ['TG-WORKLOAD-CAPTURE-BYPASS'], namespaces: ['tenant-1'], names: ['legacy-agent'], reason: 'OPS-123', expires: '2027-03-31' }];
  const out = render([
    '--set-json', `tenancy.tenants=${JSON.stringify(tenants)}`,
    '--set', 'tenancy.enforcement.action=audit',
    '--set-json', `tenancy.enforcement.overrides=${JSON.stringify(overrides)}`,
    '--set-json', `tenancy.exceptions=${JSON.stringify(exceptions)}`,
  ]);
  const parsed = parseTenancyConfigText(find(out, 'ConfigMap').data['tenancy.yaml'], 'rendered ConfigMap');
  t.same(parsed.enforcement, { action: 'audit', overrides });
  t.same(parsed.exceptions, exceptions);
  t.throws(() => render(['--set', 'tenancy.enforcement.action=block']), /enforcement/);
});
