// Who may reach and ask the webhook, as the chart renders it (real helm):
// caller authentication (clientAuth) and the NetworkPolicy.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createCertificateAuthority } from '../../src/certs/generate.js';
import { serveOptions } from '../../src/cli/serve.js';
import { FULLNAME, find, render, template } from './chart-helm.js';

const clientCa = createCertificateAuthority({ commonName: 'API server client CA', days: 2 });

t.test('clientAuth: the CA in a ConfigMap mounted where --client-ca reads it, the CNs as --client-cn', async (t) => {
  const dir = t.testdir();
  const values = join(dir, 'values.yaml');
  writeFileSync(values, `clientAuth:\n  enabled: true\n  caBundle: |\n${clientCa.certPem.replace(/\r/g, '').trim().split('\n').map((l) => `    ${l}`).join('\n')}\n  commonNames: [kube-apiserver, apiserver-webhook-client]\n`);
  const docs = render(['-f', values]);
  const cm = find(docs, 'ConfigMap', `${FULLNAME}-client-ca`);
  t.equal(cm.data['ca.crt'].trim(), clientCa.certPem.replace(/\r/g, '').trim());
  const pod = find(docs, 'Deployment').spec.template.spec;
  const c = pod.containers[0];
  const parsed = serveOptions(c.args.slice(1));
  if (parsed === 'help') throw new Error('help');
  t.same(parsed.options.clientAuth, { caFile: '/client-ca/ca.crt', commonNames: ['kube-apiserver', 'apiserver-webhook-client'] });
  t.same(c.volumeMounts.find((m: any) => m.name === 'client-ca'), { name: 'client-ca', mountPath: '/client-ca', readOnly: true });
  t.same(pod.volumes.find((v: any) => v.name === 'client-ca'), { name: 'client-ca', configMap: { name: `${FULLNAME}-client-ca` } }, 'a whole volume: an edit reaches the pod and is reloaded');

  const existing = render(['--set', 'clientAuth.enabled=true', '--set', 'clientAuth.existingConfigMap=apiserver-client-ca']);
  t.notOk(existing.some((d) => d.metadata.name === `${FULLNAME}-client-ca`), 'no ConfigMap of its own with an existing one');
  t.same(find(existing, 'Deployment').spec.template.spec.volumes.find((v: any) => v.name === 'client-ca').configMap, { name: 'apiserver-client-ca' });
});

t.test('clientAuth: off by default; a missing or doubled CA fails the render', async (t) => {
  const c = find(render(), 'Deployment').spec.template.spec.containers[0];
  t.notOk(c.args.some((a: string) => a.startsWith('--client-ca')));
  const missing = template(['--set', 'clientAuth.enabled=true']);
  t.not(missing.status, 0);
  t.match(missing.stderr, /clientAuth.enabled needs the CA/);
  const both = template(['--set', 'clientAuth.enabled=true', '--set', 'clientAuth.existingConfigMap=x', '--set-string', 'clientAuth.caBundle=-----BEGIN CERTIFICATE-----']);
  t.match(both.stderr, /set only one/);
  const b64 = template(['--set', 'clientAuth.enabled=true', '--set', `clientAuth.caBundle=${Buffer.from(clientCa.certPem).toString('base64')}`]);
  t.match(b64.stderr, /must be PEM/);
  const emptyCn = template(['--set', 'clientAuth.enabled=true', '--set', 'clientAuth.existingConfigMap=x', '--set-json', 'clientAuth.commonNames=[]']);
  t.not(emptyCn.status, 0, 'no CN list is refused by the schema');
});

t.test('NetworkPolicy, on by default: the webhook port admits the API server ranges minus the pod network, no pod; metrics the monitoring namespace', async (t) => {
  const docs = render();
  const np = find(docs, 'NetworkPolicy', FULLNAME);
  const dep = find(docs, 'Deployment');
  t.same(np.spec.podSelector.matchLabels, dep.spec.selector.matchLabels, 'selects exactly the webhook pods');
  t.same(np.spec.policyTypes, ['Ingress'], 'egress (to the API server) is not restricted');
  const [webhook, metrics] = np.spec.ingress;
  t.same(webhook.ports, [{ port: 8443, protocol: 'TCP' }]);
  t.equal(dep.spec.template.spec.containers[0].ports[0].containerPort, 8443, 'the port the container serves on');
  t.same(webhook.from, [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16'] } }, { ipBlock: { cidr: '::/0' } }]);
  for (const peer of webhook.from) t.notOk(peer.podSelector || peer.namespaceSelector, 'no pod selector: no namespace\'s pods, tenant or not');
  t.same(metrics, { ports: [{ port: 9090, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }, 'the metrics port (metrics.port)');
});

t.test('NetworkPolicy values: narrowed API server ranges, pod CIDRs per family, extra peers, metrics port and selector, off', async (t) => {
  const docs = render([
    '--set', 'networkPolicy.webhook.apiServerCIDRs={172.18.0.0/16,0.0.0.0/0,::/0}',
    '--set', 'networkPolicy.webhook.podCIDRs={10.42.0.0/16,fd00:10:244::/56}',
    '--set', 'networkPolicy.metrics.namespace=observability',
    '--set', 'networkPolicy.metrics.podSelector.matchLabels.app=prometheus',
  ]);
  const np = find(docs, 'NetworkPolicy');
  t.same(np.spec.ingress[0].from, [
    { ipBlock: { cidr: '172.18.0.0/16' } },
    { ipBlock: { cidr: '0.0.0.0/0', except: ['10.42.0.0/16'] } },
    { ipBlock: { cidr: '::/0', except: ['fd00:10:244::/56'] } },
  ], 'a narrow range as given; each catch-all without the pod network of its family');
  t.same(np.spec.ingress[1].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } }, podSelector: { matchLabels: { app: 'prometheus' } } }]);

  const dir = t.testdir();
  writeFileSync(join(dir, 'v.yaml'), 'networkPolicy:\n  webhook:\n    extraFrom:\n      - namespaceSelector:\n          matchLabels: {kubernetes.io/metadata.name: apiserver-proxy}\n  metrics:\n    namespace: ""\n');
  const extra = find(render(['-f', join(dir, 'v.yaml')]), 'NetworkPolicy');
  t.same(extra.spec.ingress[0].from.at(-1), { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apiserver-proxy' } } });
  t.equal(extra.spec.ingress.length, 1, 'no metrics rule without a monitoring namespace');

  t.notOk(render(['--set', 'networkPolicy.enabled=false']).some((d) => d.kind === 'NetworkPolicy'));
  const bad = template(['--set', 'networkPolicy.webhook.apiServerCIDRs={kube-apiserver}']);
  t.not(bad.status, 0, 'a CIDR that is not one is refused by the schema');
});
