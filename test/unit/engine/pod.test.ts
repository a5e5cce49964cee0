import t from 'tap';
import type { KubeObject } from '../../../src/engine/types.js';
import { alice, platformAdmin, replicaSetController, SETUID_HARDENING, submit, TENANT_LABEL, tenant1Sa } from './workload-harness.js';

const T = TENANT_LABEL;
const STATUS = 'sidecar.istio.io/status';
const PROXY_IMAGE = 'docker.io/istio/proxyv2:1.22.0';

function pod(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: 'tenant-1', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'curlimages/curl' }], ...spec },
  };
}

/** A Pod as Istio's injector leaves it (istio-init + istio-proxy, status written), optionally with istio-cni's annotations. */
function injectedPod(opts: { cni?: boolean; native?: boolean } = {}): KubeObject {
  const init = opts.cni
    ? { name: 'istio-validation', image: PROXY_IMAGE, securityContext: { runAsUser: 1337, runAsGroup: 1337 } }
    : { name: 'istio-init', image: PROXY_IMAGE, securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } };
  const proxy = { name: 'istio-proxy', image: PROXY_IMAGE, securityContext: { runAsUser: 1337, runAsGroup: 1337 }, ...(opts.native ? { restartPolicy: 'Always' } : {}) };
  const status = {
    initContainers: opts.native ? [init.name, 'istio-proxy'] : [init.name],
    containers: opts.native ? null : ['istio-proxy'],
    volumes: ['istio-envoy', 'istio-data', 'istio-podinfo', 'istio-token', 'istiod-ca-cert'],
    imagePullSecrets: null,
    revision: 'default',
  };
  const annotations: Record<string, string> = {
    [STATUS]: JSON.stringify(status),
    'kubectl.kubernetes.io/default-container': 'app',
    'istio.io/rev': 'default',
  };
  if (opts.cni) {
    Object.assign(annotations, {
      'sidecar.istio.io/interceptionMode': 'REDIRECT',
      'traffic.sidecar.istio.io/includeInboundPorts': '*',
      'traffic.sidecar.istio.io/excludeInboundPorts': '15020',
      'traffic.sidecar.istio.io/includeOutboundIPRanges': '*',
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'app', namespace: 'tenant-1', labels: { 'security.istio.io/tlsMode': 'istio' }, annotations },
    spec: {
      initContainers: opts.native ? [init, proxy] : [init],
      containers: opts.native ? [{ name: 'app', image: 'curlimages/curl' }] : [{ name: 'app', image: 'curlimages/curl' }, proxy],
    },
  };
}

t.test('a plain pod is admitted and gets the tenant label', async (t) => {
  const { d, result } = submit(pod(), alice);
  t.equal(d.allowed, true);
  t.same(result.metadata.labels, { [T]: 'tenant-1' });
  // rootContainers: drop (the default) hardens the container against setuid(1337).
  t.same(d.patch, [
    { op: 'add', path: '/spec/containers/0/securityContext', value: SETUID_HARDENING },
    { op: 'add', path: '/metadata/labels', value: { [T]: 'tenant-1' } },
  ]);
});

t.test('genuinely injected pods are admitted (istio-init, istio-cni, native sidecars)', async (t) => {
  for (const opts of [{}, { cni: true }, { native: true }, { cni: true, native: true }]) {
    const { d, result } = submit(injectedPod(opts), alice);
    t.same(d.violations, [], JSON.stringify(opts));
    t.equal(result.metadata.labels?.[T], 'tenant-1');
    t.equal(result.metadata.labels?.['security.istio.io/tlsMode'], 'istio', 'existing labels kept');
  }
});

t.test('a service account of the tenant is judged like its admin', async (t) => {
  t.same(submit(pod({ hostNetwork: true }), tenant1Sa).rules, ['TG-WORKLOAD-HOST-NETWORK']);
  t.equal(submit(injectedPod(), tenant1Sa).d.allowed, true);
});

t.test('user containers named like Istio or running as 1337 are refused', async (t) => {
  const named = submit(pod({ containers: [{ name: 'app', image: 'a' }, { name: 'istio-proxy', image: 'evil' }] }), alice);
  t.same(named.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-RESERVED-CONTAINER', 'spec.containers[1].name']]);
  const init = submit(pod({ initContainers: [{ name: 'istio-init', image: 'evil' }] }), alice);
  t.same(init.d.violations.map((v) => v.path), ['spec.initContainers[0].name']);
  const uid = submit(pod({ containers: [{ name: 'app', image: 'a', securityContext: { runAsUser: 1337 } }] }), platformAdmin);
  t.same(uid.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-PROXY-UID', 'spec.containers[0].securityContext.runAsUser']], 'platform admins too');
  const podLevel = submit(pod({ securityContext: { runAsUser: 1337 } }), alice);
  t.same(podLevel.d.violations.map((v) => v.path), ['spec.securityContext.runAsUser']);
  const eph = submit(pod({ ephemeralContainers: [{ name: 'dbg', image: 'busybox', securityContext: { runAsUser: 1337 } }] }), alice);
  t.same(eph.d.violations.map((v) => v.path), ['spec.ephemeralContainers[0].securityContext.runAsUser']);
});

t.test('an injected pod with an extra user container at 1337 is refused', async (t) => {
  const p = injectedPod();
  p.spec.containers[0].securityContext = { runAsUser: 1337 };
  t.same(submit(p, alice).d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-PROXY-UID', 'spec.containers[0].securityContext.runAsUser']]);
});

t.test('forged or inconsistent injection status is refused', async (t) => {
  const claimsApp = injectedPod();
  claimsApp.metadata.annotations![STATUS] = JSON.stringify({ containers: ['istio-proxy', 'app'], initContainers: ['istio-init'] });
  t.ok(submit(claimsApp, alice).rules.includes('TG-POD-INJECTION-STATUS'));
  const missing = pod({}, { [STATUS]: JSON.stringify({ containers: ['istio-proxy'], initContainers: [] }) });
  t.same(submit(missing, alice).rules, ['TG-POD-INJECTION-STATUS'], 'status names a container the pod lacks');
  const garbage = pod({}, { [STATUS]: 'injected!' });
  t.same(submit(garbage, alice).rules, ['TG-POD-INJECTION-STATUS']);
  const wrongList = injectedPod();
  wrongList.metadata.annotations![STATUS] = JSON.stringify({ containers: ['istio-init'], initContainers: ['istio-proxy'] });
  const r = submit(wrongList, alice);
  t.ok(r.rules.includes('TG-POD-INJECTION-STATUS'), 'names must be in the list Istio says');
  t.ok(r.rules.includes('TG-WORKLOAD-PROXY-UID'), 'and the unverified proxy is not exempt');
});

t.test('injected pods with narrowing capture annotations or proxy overrides are refused', async (t) => {
  const p = injectedPod({ cni: true });
  p.metadata.annotations!['traffic.sidecar.istio.io/excludeInboundPorts'] = '15020,8080';
  t.same(submit(p, alice).rules, ['TG-WORKLOAD-CAPTURE-BYPASS']);
  const o = injectedPod();
  o.metadata.annotations!['proxy.istio.io/overrides'] = '{"containers":[{"name":"istio-proxy","image":"evil"}]}';
  t.same(submit(o, alice).rules, ['TG-WORKLOAD-PROXY-OVERRIDE']);
});

t.test('UPDATE: the injected proxy image and the status may not change', async (t) => {
  const old = injectedPod();
  const swapped = structuredClone(old);
  swapped.spec.containers[1].image = 'evil/envoy:1';
  const r = submit(swapped, alice, { old });
  t.same(r.d.violations.map((v) => [v.rule, v.path]), [['TG-POD-SIDECAR-TAMPER', 'spec.containers[1].image']]);
  const status = structuredClone(old);
  status.metadata.annotations![STATUS] = JSON.stringify({ containers: ['istio-proxy'], initContainers: [] });
  t.ok(submit(status, alice, { old }).rules.includes('TG-POD-SIDECAR-TAMPER'));
  const appImage = structuredClone(old);
  appImage.spec.containers[0].image = 'curlimages/curl:8';
  t.equal(submit(appImage, alice, { old }).d.allowed, true, 'the app image may change');
  const label = structuredClone(old);
  label.metadata.labels!.team = 'x';
  const relabel = submit(label, alice, { old });
  t.equal(relabel.d.allowed, true);
  t.same(relabel.d.patch, [{ op: 'add', path: '/metadata/labels/tenant-guard.dev~1tenant', value: 'tenant-1' }], 'UPDATE re-adds the tenant label');
});

t.test('pods written by the ReplicaSet controller: warnings only, no mutation', async (t) => {
  const { d } = submit(pod({ hostNetwork: true }), replicaSetController);
  t.equal(d.allowed, true);
  t.same(d.patch, []);
  t.match(d.warnings.join('\n'), /TG-WORKLOAD-HOST-NETWORK.*platform controller/);
});

t.test('pods in system namespaces are not judged here', async (t) => {
  const p = pod({ hostNetwork: true });
  p.metadata.namespace = 'istio-system';
  const { d } = submit(p, platformAdmin);
  t.equal(d.allowed, true);
  t.same(d.patch, []);
});

t.test("TG-WORKLOAD-NET-ADMIN: Istio's own istio-init may hold NET_ADMIN, user containers may not (regression)", async (t) => {
  const p = injectedPod();
  t.same(p.spec.initContainers[0].securityContext.capabilities.add, ['NET_ADMIN', 'NET_RAW'], 'fixture: istio-init as injected');
  t.equal(submit(p, alice).d.allowed, true);
  const flusher = injectedPod();
  flusher.spec.containers[0].securityContext = { capabilities: { add: ['NET_ADMIN'] } };
  t.same(submit(flusher, alice).d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-NET-ADMIN', 'spec.containers[0].securityContext.capabilities.add[0]']]);
  const eph = injectedPod();
  eph.spec.ephemeralContainers = [{ name: 'debug', image: 'nicolaka/netshoot', securityContext: { privileged: true } }];
  // A new ephemeral container cannot be patched (the running pod is updated): it is also judged for setuid.
  t.same(submit(eph, alice, { old: injectedPod() }).rules, ['TG-WORKLOAD-NET-ADMIN', 'TG-WORKLOAD-SETUID'], 'kubectl debug with a privileged profile');
  const forged = pod({ initContainers: [{ name: 'istio-init', image: 'evil', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] });
  t.same(submit(forged, alice).rules, ['TG-WORKLOAD-RESERVED-CONTAINER', 'TG-WORKLOAD-NET-ADMIN'], 'an istio-init Istio did not inject is not exempt');
});

t.test("sidecar.istio.io/inject is read as Istio reads it: lower-cased, only y/yes/true/on (or empty) inject", async (t) => {
  // pkg/kube/inject/inject.go injectRequired: switch strings.ToLower(value) { case "y","yes","true","on": inject; case "": namespace default }
  for (const v of ['FALSE', 'False', '0', 'no', 'n', 'off', 'disabled', ' true', 'true ', '1']) {
    for (const map of ['labels', 'annotations'] as const) {
      const p = pod();
      p.metadata[map] = { 'sidecar.istio.io/inject': v };
      t.same(submit(p, alice).rules, ['TG-WORKLOAD-INJECT-OPTOUT'], `${map} ${JSON.stringify(v)}`);
    }
  }
  for (const v of ['TRUE', 'Yes', 'on', 'Y', '']) {
    const p = pod();
    p.metadata.labels = { 'sidecar.istio.io/inject': v };
    t.equal(submit(p, alice).d.allowed, true, JSON.stringify(v));
  }
});
