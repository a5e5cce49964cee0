// Issue 9, class 4: pod privileges that defeat the sidecar or steal an
// identity, on Pods, templates and Knative; exec/attach into istio-proxy.
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { evaluate } from '../../../src/engine/index.js';
import type { KubeObject, UserInfo } from '../../../src/engine/types.js';
import { alice, defaultConfig, knativeController, platformAdmin, referenceState, SETUID_HARDENING, submit } from './workload-harness.js';

const denyConfig = parseTenancyConfig({ ...structuredClone(defaultConfig), rootContainers: 'deny' }, 'deny');
const safe = { allowPrivilegeEscalation: false, runAsNonRoot: true };

const pod = (spec: Record<string, unknown>, containers: unknown[] = [{ name: 'app', image: 'busybox', securityContext: safe }]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'tenant-1' },
  spec: { containers, ...spec },
});
const deployment = (podSpec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace: 'tenant-1' },
  spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'app', image: 'busybox', securityContext: safe }], ...podSpec } } },
});
const ksvc = (podSpec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'k', namespace: 'tenant-1' },
  spec: { template: { spec: { containers: [{ image: 'busybox', securityContext: safe }], ...podSpec } } },
});

t.test('host privileges: refused on Pods, templates and Knative Services', async (t) => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['kubelet pods dir', { volumes: [{ name: 'v', hostPath: { path: '/var/lib/kubelet/pods' } }] }, 'TG-WORKLOAD-HOST-PATH', 'volumes[0].hostPath'],
    ['any hostPath', { volumes: [{ name: 'ok', emptyDir: {} }, { name: 'v', hostPath: { path: '/tmp' } }] }, 'TG-WORKLOAD-HOST-PATH', 'volumes[1].hostPath'],
    ['SDS socket dir', { volumes: [{ name: 'v', hostPath: { path: '/var/run/secrets/workload-spiffe-uds', type: 'Directory' } }] }, 'TG-WORKLOAD-HOST-PATH', 'volumes[0].hostPath'],
    ['hostPID', { hostPID: true }, 'TG-WORKLOAD-HOST-NAMESPACES', 'hostPID'],
    ['hostIPC', { hostIPC: true }, 'TG-WORKLOAD-HOST-NAMESPACES', 'hostIPC'],
  ];
  for (const [name, spec, rule, path] of cases) {
    t.same(submit(pod(spec), alice).d.violations.map((v) => [v.rule, v.path]), [[rule, `spec.${path}`]], `Pod: ${name}`);
    t.same(submit(deployment(spec), alice).d.violations.map((v) => [v.rule, v.path]), [[rule, `spec.template.spec.${path}`]], `Deployment: ${name}`);
    t.same(submit(ksvc(spec), alice).rules, [rule], `Knative Service: ${name}`);
  }
  t.match(submit(pod(cases[0]![1]), alice).d.violations[0]!.message, /istio-token/);
  t.same(submit(pod({ hostPID: false, hostIPC: false, volumes: [{ name: 'e', emptyDir: {} }, { name: 's', secret: { secretName: 'x' } }] }), alice).rules, [], 'emptyDir, secrets, host* false');
  const byController = submit(deployment({ hostPID: true }), knativeController);
  t.ok(byController.d.allowed, 'platform controllers: a warning');
  t.match(byController.d.warnings.join('\n'), /TG-WORKLOAD-HOST-NAMESPACES/);
});

t.test('added capabilities: only NET_BIND_SERVICE', async (t) => {
  for (const cap of ['SYS_PTRACE', 'sys_admin', 'CAP_SETUID', 'DAC_READ_SEARCH']) {
    const r = submit(pod({}, [{ name: 'app', image: 'b', securityContext: { ...safe, capabilities: { add: [cap] } } }]), alice);
    t.same(r.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-CAPABILITIES', 'spec.containers[0].securityContext.capabilities.add[0]']], cap);
  }
  t.same(submit(pod({}, [{ name: 'app', image: 'b', securityContext: { ...safe, capabilities: { add: ['NET_BIND_SERVICE'] } } }]), alice).rules, []);
  t.same(submit(pod({}, [{ name: 'app', image: 'b', securityContext: { ...safe, capabilities: { add: ['NET_ADMIN'] } } }]), alice).rules, ['TG-WORKLOAD-NET-ADMIN'], 'NET_ADMIN stays its own rule');
});

t.test('setuid(1337): rootContainers deny refuses, drop patches', async (t) => {
  const root = pod({}, [{ name: 'app', image: 'busybox' }]);
  const denied = submit(root, alice, { config: denyConfig });
  t.same(denied.d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-SETUID', 'spec.containers[0].securityContext']]);
  t.match(denied.d.violations[0]!.message, /allowPrivilegeEscalation: false and runAsNonRoot: true/);
  const dropped = submit(root, alice);
  t.ok(dropped.d.allowed);
  t.same(dropped.result.spec.containers[0].securityContext, SETUID_HARDENING, 'drop mode: the hardening is added');
  t.same(submit(dropped.result, alice, { config: denyConfig }).rules, [], 'the patched pod satisfies deny mode');

  const neighbours: [string, Record<string, unknown>, Record<string, unknown> | undefined][] = [
    ['runAsNonRoot', { allowPrivilegeEscalation: false, runAsNonRoot: true }, undefined],
    ['non-zero runAsUser', { allowPrivilegeEscalation: false, runAsUser: 1000 }, undefined],
    ['drop SETUID, SETGID', { allowPrivilegeEscalation: false, capabilities: { drop: ['SETUID', 'CAP_SETGID'] } }, undefined],
    ['drop ALL', { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, undefined],
    ['pod-level runAsNonRoot', { allowPrivilegeEscalation: false }, { runAsNonRoot: true }],
  ];
  for (const [name, sc, podSc] of neighbours) {
    const p = pod(podSc ? { securityContext: podSc } : {}, [{ name: 'app', image: 'b', securityContext: sc }]);
    const d = submit(p, alice, { config: denyConfig });
    t.same(d.rules, [], `${name}: admitted in deny mode`);
  }
  const escalating = pod({}, [{ name: 'app', image: 'b', securityContext: { runAsNonRoot: true } }]);
  t.same(submit(escalating, alice, { config: denyConfig }).rules, ['TG-WORKLOAD-SETUID'], 'non-root may still exec a set-user-ID binary');
  t.match(submit(escalating, alice, { config: denyConfig }).d.violations[0]!.message, /set-user-ID binary.*Set allowPrivilegeEscalation: false in/);
  const rootOverride = pod({ securityContext: { runAsNonRoot: true } }, [{ name: 'app', image: 'b', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: false } }]);
  t.same(submit(rootOverride, alice, { config: denyConfig }).rules, ['TG-WORKLOAD-SETUID'], 'the container overrides the pod');

  // Partial securityContexts get only what they lack.
  const partial = submit(pod({}, [{ name: 'app', image: 'b', securityContext: { readOnlyRootFilesystem: true, capabilities: { drop: ['NET_RAW'] } } }]), alice);
  t.same(partial.result.spec.containers[0].securityContext, { readOnlyRootFilesystem: true, capabilities: { drop: ['NET_RAW', 'SETUID', 'SETGID'] }, allowPrivilegeEscalation: false });
  // Templates and Knative get the patch at their template.
  t.same(submit(deployment({ containers: [{ name: 'app', image: 'b' }] }), alice).result.spec.template.spec.containers[0].securityContext, SETUID_HARDENING);
  t.same(submit(ksvc({ containers: [{ image: 'b' }], initContainers: [{ name: 'i', image: 'b', securityContext: { runAsUser: 0 } }] }), alice).result.spec.template.spec.initContainers[0].securityContext,
    { runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ['SETUID', 'SETGID'] } });
});

t.test('ephemeral containers: judged, never patched', async (t) => {
  const running = pod({}, [{ name: 'app', image: 'busybox' }]);
  const debug = structuredClone(running);
  debug.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox' }];
  const d = evaluate(
    { operation: 'UPDATE', subResource: 'ephemeralcontainers', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'tenant-1', name: 'p', object: debug, oldObject: running, userInfo: alice, dryRun: false },
    referenceState(),
    defaultConfig,
  );
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-WORKLOAD-SETUID', 'spec.ephemeralContainers[0].securityContext']], 'the pre-existing root container is not judged again; the new one is');
  const restricted = structuredClone(running);
  restricted.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } } }];
  t.same(submit(restricted, alice, { old: running }).rules, [], 'kubectl debug --profile=restricted');
  const hostDebug = structuredClone(running);
  hostDebug.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', securityContext: { ...safe, capabilities: { add: ['SYS_PTRACE'] } } }];
  t.same(submit(hostDebug, alice, { old: running }).rules, ['TG-WORKLOAD-CAPABILITIES'], 'kubectl debug --profile=sysadmin-like capabilities');
});

function connect(sub: string, container: string | undefined, user: UserInfo = alice) {
  const kind = sub === 'exec' ? 'PodExecOptions' : sub === 'attach' ? 'PodAttachOptions' : 'PodPortForwardOptions';
  return evaluate(
    {
      operation: 'CONNECT',
      subResource: sub,
      // The API server sends the options' kind (k8s.io/api/core/v1 PodExecOptions), not Pod.
      kind: { group: '', version: 'v1', kind },
      namespace: 'tenant-1',
      name: 'hello-00001-deployment-abc',
      object: { apiVersion: 'v1', kind, ...(container !== undefined ? { container } : {}), command: ['sh'], stdin: true, tty: true } as unknown as KubeObject,
      userInfo: user,
      dryRun: false,
    },
    referenceState(),
    defaultConfig,
  );
}

t.test('pods/exec and pods/attach CONNECT', async (t) => {
  for (const sub of ['exec', 'attach']) {
    for (const c of ['istio-proxy', 'istio-init', 'istio-validation']) {
      const d = connect(sub, c);
      t.same(d.violations.map((v) => v.rule), ['TG-WORKLOAD-EXEC-PROXY'], `${sub} -c ${c}`);
    }
    t.match(connect(sub, 'istio-proxy').violations[0]!.message, /UID 1337/);
    t.same(connect(sub, undefined).violations.map((v) => v.rule), ['TG-WORKLOAD-EXEC-PROXY'], `${sub} without container: refused`);
    t.ok(connect(sub, 'user-container').allowed, `${sub} -c user-container`);
    t.ok(connect(sub, 'istio-proxy', platformAdmin).allowed, `${sub}: platform admins may debug the proxy`);
  }
  t.ok(connect('portforward', 'istio-proxy').intercepted === false, 'other CONNECT subresources are not judged');
});

t.test('an unreadable capabilities.drop entry fails the review closed even when runAsNonRoot settles the identity', async (t) => {
  // A JSON object whose toString is no function cannot be read as a capability name.
  const unreadable = JSON.parse('{"toString":1}') as unknown;
  for (const sc of [
    { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: [unreadable] } },
    { runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: [unreadable] } },
  ]) {
    const d = submit(ksvc({ containers: [{ image: 'busybox', securityContext: sc }] }), alice).d;
    t.equal(d.allowed, false, JSON.stringify(Object.keys(sc)));
    t.same(d.violations.map((v) => v.rule), ['TG-ENGINE-ERROR']);
  }
});

t.test('annotations named like Object.prototype members are no proxy overrides', async (t) => {
  const obj = ksvc({});
  (obj.spec as { template: Record<string, unknown> }).template.metadata = { annotations: { toString: 'x', constructor: 'y', valueOf: 'z' } };
  const d = submit(obj, alice).d;
  t.same(d.violations.filter((v) => v.rule === 'TG-WORKLOAD-PROXY-OVERRIDE'), []);
  t.notMatch(JSON.stringify(d), /function|native code/);
});
