// The four certificate sources: kept by tenant-guard (mode self, the
// default), Helm-generated (reused on upgrade through `lookup`), cert-manager,
// and a user-provided Secret.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FULLNAME, NAMESPACE, type KubeDoc, find, render, renderAsync, webhooks } from './chart-helm.js';

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const DNS_NAMES = [FULLNAME, `${FULLNAME}.${NAMESPACE}`, `${FULLNAME}.${NAMESPACE}.svc`, `${FULLNAME}.${NAMESPACE}.svc.cluster.local`];

function caBundles(docs: KubeDoc[]): (string | undefined)[] {
  return webhooks(docs).map((w) => w.hook.clientConfig.caBundle);
}

const HELM = ['--set', 'tls.mode=helm'];

t.test('tls.mode helm: Helm generates a CA and a serving certificate the webhooks trust', async (t) => {
  const docs = render(HELM);
  const secret = find(docs, 'Secret', `${FULLNAME}-tls`);
  t.equal(secret.type, 'kubernetes.io/tls');
  const ca = new X509Certificate(b64(secret.data['ca.crt']));
  const leaf = new X509Certificate(b64(secret.data['tls.crt']));
  t.ok(ca.ca, 'ca.crt is a CA');
  t.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
  t.ok(leaf.checkPrivateKey(createPrivateKey(b64(secret.data['tls.key']))), 'tls.key belongs to tls.crt');
  for (const name of DNS_NAMES) t.ok(leaf.checkHost(name), `certificate valid for ${name}`);
  const years = (Date.parse(leaf.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
  t.ok(years > 9.9 && years < 10.1, `valid for tls.generated.validityDays (3650), got ${years.toFixed(2)} years`);
  t.equal(secret.metadata.annotations?.['tenant-guard.dev/dns-names'], DNS_NAMES.join(','));

  // Secret and webhook configurations are separate templates: the same CA must reach both.
  const bundles = caBundles(docs);
  t.equal(bundles.length, 7, 'every webhook');
  for (const b of bundles) t.equal(b, secret.data['ca.crt']);
});

t.test('tls.mode helm: every fresh render generates a new CA (nothing baked in)', async (t) => {
  const a = find(render(HELM), 'Secret').data['ca.crt'];
  const b = find(render(HELM), 'Secret').data['ca.crt'];
  t.not(a, b);
});

/**
 * The smallest API server `helm template --dry-run=server` needs for
 * `lookup "v1" "Secret"`: core discovery and one Secret.
 */
async function fakeApiServer(secret: object | undefined): Promise<{ server: Server; kubeconfig: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(`${req.method} ${path}`);
    const send = (code: number, body: object) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/apis') return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1')
      return send(200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [{ name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list'] }],
      });
    if (secret && path === `/api/v1/namespaces/${NAMESPACE}/secrets/${FULLNAME}-tls`) return send(200, secret);
    send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'tg-chart-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: fake, user: {token: fake}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`,
  );
  return { server, kubeconfig, requests };
}

function existingSecret(dnsNames: string, data: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: `${FULLNAME}-tls`, namespace: NAMESPACE, annotations: { 'tenant-guard.dev/dns-names': dnsNames } },
    data,
  };
}
const PREVIOUS = { 'ca.crt': Buffer.from('previous CA').toString('base64'), 'tls.crt': Buffer.from('previous cert').toString('base64'), 'tls.key': Buffer.from('previous key').toString('base64') };

t.test('upgrade: the Secret of the previous install is reused, not rotated', async (t) => {
  const api = await fakeApiServer(existingSecret(DNS_NAMES.join(','), PREVIOUS));
  t.teardown(() => api.server.close());
  const docs = await renderAsync(['--dry-run=server', ...HELM], { KUBECONFIG: api.kubeconfig });
  t.ok(api.requests.includes(`GET /api/v1/namespaces/${NAMESPACE}/secrets/${FULLNAME}-tls`), 'looked the Secret up');
  t.same(find(docs, 'Secret').data, PREVIOUS);
  for (const b of caBundles(docs)) t.equal(b, PREVIOUS['ca.crt']);
});

t.test('upgrade: a previous Secret issued for other DNS names is replaced', async (t) => {
  const api = await fakeApiServer(existingSecret('old-name,old-name.other.svc', PREVIOUS));
  t.teardown(() => api.server.close());
  const docs = await renderAsync(['--dry-run=server', ...HELM], { KUBECONFIG: api.kubeconfig });
  const data = find(docs, 'Secret').data;
  t.not(data['ca.crt'], PREVIOUS['ca.crt']);
  t.ok(new X509Certificate(b64(data['tls.crt'])).checkHost(`${FULLNAME}.${NAMESPACE}.svc`));
  for (const b of caBundles(docs)) t.equal(b, data['ca.crt']);
});

t.test('upgrade: an incomplete previous Secret is replaced', async (t) => {
  const { 'tls.key': _dropped, ...partial } = PREVIOUS;
  const api = await fakeApiServer(existingSecret(DNS_NAMES.join(','), partial));
  t.teardown(() => api.server.close());
  const data = find(await renderAsync(['--dry-run=server', ...HELM], { KUBECONFIG: api.kubeconfig }), 'Secret').data;
  t.not(data['ca.crt'], PREVIOUS['ca.crt']);
  t.ok(data['tls.key']);
});

t.test('cert-manager: own CA chain, serving Certificate, CA injected by annotation', async (t) => {
  const docs = render(['--set', 'certManager.enabled=true']);
  t.notOk(docs.some((d) => d.kind === 'Secret'), 'no Helm-generated Secret');
  const selfSigned = find(docs, 'Issuer', `${FULLNAME}-selfsigned`);
  t.same(selfSigned.spec, { selfSigned: {} });
  const caCert = find(docs, 'Certificate', `${FULLNAME}-ca`);
  t.equal(caCert.spec.isCA, true);
  t.equal(caCert.spec.issuerRef.name, selfSigned.metadata.name);
  const caIssuer = find(docs, 'Issuer', `${FULLNAME}-ca`);
  t.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName);

  const serving = find(docs, 'Certificate', FULLNAME);
  t.same(serving.spec.dnsNames, DNS_NAMES);
  t.same(serving.spec.issuerRef, { name: caIssuer.metadata.name, kind: 'Issuer', group: 'cert-manager.io' });
  t.equal(serving.spec.secretName, `${FULLNAME}-tls`);
  const dep = find(docs, 'Deployment');
  t.equal(dep.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName, serving.spec.secretName);

  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    t.equal(find(docs, kind).metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NAMESPACE}/${serving.metadata.name}`, kind);
  }
  for (const b of caBundles(docs)) t.equal(b, undefined, 'caBundle left to cainjector');
});

t.test('cert-manager with an existing issuer: no CA chain of its own', async (t) => {
  const docs = render(['--set', 'certManager.enabled=true', '--set-json', 'certManager.issuerRef={"name":"corp-ca","kind":"ClusterIssuer","group":"cert-manager.io"}']);
  t.notOk(docs.some((d) => d.kind === 'Issuer'));
  t.same(
    docs.filter((d) => d.kind === 'Certificate').map((d) => d.metadata.name),
    [FULLNAME],
  );
  t.same(find(docs, 'Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
});

t.test('user-provided Secret: mounted as is, caBundle from values', async (t) => {
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  const docs = render(['--set', 'tls.existingSecret=corp-webhook-tls', '--set', `webhook.caBundle=${ca}`]);
  t.notOk(docs.some((d) => d.kind === 'Secret' || d.kind === 'Certificate'), 'the chart creates no certificate');
  const dep = find(docs, 'Deployment');
  t.equal(dep.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName, 'corp-webhook-tls');
  for (const b of caBundles(docs)) t.equal(b, ca);
  t.notOk(find(docs, 'ValidatingWebhookConfiguration').metadata.annotations, 'no cert-manager annotation');
});

t.test('default, tls.mode self: no certificate in the chart; tenant-guard keeps it, with RBAC limited by name', async (t) => {
  const docs = render();
  t.notOk(docs.some((d) => d.kind === 'Secret'), 'no Secret rendered: the leader creates it');
  for (const b of caBundles(docs)) t.equal(b, undefined, 'caBundle left to tenant-guard');
  const c = find(docs, 'Deployment').spec.template.spec.containers[0];
  t.same(
    c.args.filter((a: string) => /^--(self-certs|cert-dns|mutating-webhook|validating-webhook|leader-lease)=/.test(a)),
    [
      `--self-certs=${NAMESPACE}/${FULLNAME}-tls`,
      ...DNS_NAMES.map((d) => `--cert-dns=${d}`),
      `--mutating-webhook=${FULLNAME}`,
      `--validating-webhook=${FULLNAME}`,
      `--leader-lease=${NAMESPACE}/${FULLNAME}-controllers`,
    ],
  );
  t.same(c.env, [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
  t.notOk(c.volumeMounts.some((m: { name: string }) => m.name === 'tls'), 'no Secret volume: the Secret is read through the API');

  const role = find(docs, 'Role', `${FULLNAME}-self-certs`);
  const secretRules = role.rules.filter((r: { resources: string[] }) => r.resources.includes('secrets'));
  t.same(secretRules, [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [`${FULLNAME}-tls`], verbs: ['get', 'list', 'watch', 'update'] },
  ]);
  const cabundle = find(docs, 'ClusterRole', `${FULLNAME}-cabundle`);
  t.same(cabundle.rules, [
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      resourceNames: [FULLNAME],
      verbs: ['get', 'list', 'watch', 'patch'],
    },
  ]);
  t.equal(find(docs, 'ClusterRoleBinding', `${FULLNAME}-cabundle`).subjects[0].name, FULLNAME);
  t.same(find(docs, 'Role', `${FULLNAME}-leases`).rules[0].resources, ['leases']);
  for (const [kind, name] of [['ClusterRole', `${FULLNAME}-cabundle`], ['Role', `${FULLNAME}-self-certs`]] as const) {
    t.ok(find(docs, kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding', name), `${kind} ${name} is bound`);
  }
});

t.test('tls.mode self: the lifetimes reach serve; bad values are refused by the schema', async (t) => {
  const c = find(render(['--set', 'tls.self.caValidity=730d', '--set', 'tls.self.certValidity=30d', '--set-json', 'tls.self.renewAt=0.5']), 'Deployment').spec.template.spec.containers[0];
  for (const a of ['--ca-validity=730d', '--cert-validity=30d', '--renew-at=0.5', '--ca-settle=30s', '--ca-overlap=2m']) t.ok(c.args.includes(a), a);
  const { template } = await import('./chart-helm.js');
  for (const bad of ['tls.mode=vault', 'tls.self.caValidity=forever', 'tls.self.renewAt=1', 'policyReports.interval=often']) {
    const r = template(['--set', bad]);
    t.not(r.status, 0, `${bad} refused`);
    t.match(r.stderr, /values don't meet the specifications of the schema/, bad);
  }
});

t.test('policyReports.enabled: the leader writes reports; RBAC to read workloads and write reports', async (t) => {
  const off = render(['--set', 'tls.mode=helm']);
  t.notOk(off.some((d) => d.kind === 'ClusterRole' && d.metadata.name.endsWith('-policy-reports')), 'off by default');
  t.notOk(off.some((d) => d.kind === 'Role' && !d.metadata.name.endsWith('-leader-election')), 'tls.mode helm without PolicyReports: no Role but the baseline controllers\' Lease');
  const docs = render(['--set', 'tls.mode=helm', '--set', 'policyReports.enabled=true', '--set', 'policyReports.interval=5m']);
  const c = find(docs, 'Deployment').spec.template.spec.containers[0];
  t.ok(c.args.includes('--policy-reports=5m'));
  t.ok(c.args.includes(`--leader-lease=${NAMESPACE}/${FULLNAME}-controllers`));
  const role = find(docs, 'ClusterRole', `${FULLNAME}-policy-reports`);
  const writes = role.rules.find((r: { apiGroups: string[] }) => r.apiGroups.includes('wgpolicyk8s.io'));
  t.same(writes.resources, ['policyreports', 'clusterpolicyreports']);
  t.notOk(role.rules.some((r: { verbs: string[]; apiGroups: string[] }) => !r.apiGroups.includes('wgpolicyk8s.io') && r.verbs.some((v) => v !== 'get' && v !== 'list')), 'read-only outside its reports');
});
