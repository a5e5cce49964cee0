// Issue 21: messages a refused tenant can act on, and patches that change
// runtime behaviour announced.
import t from 'tap';
import { ALICE, checkJson, NAMESPACES } from './check-harness.js';

const ksvc = (securityContext: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: web, namespace: tenant-1}
spec:
  template:
    spec:
      containers:
        - image: nginx
          securityContext: ${securityContext}
`;

t.test("Knative's unnamed container is named user-container and by its index, never Container \"\"", async (t) => {
  const r = await checkJson([...ALICE, '--state', NAMESPACES, '-f', '-'], { stdin: ksvc('{capabilities: {add: [NET_ADMIN]}}') });
  t.equal(r.code, 1);
  const messages = r.report.results[0]!.violations.map((v) => v.message).join('\n');
  t.match(messages, /The unnamed container containers\[0\] \(Knative names it "user-container"\)/);
  t.notMatch(messages, /Container ""/);
});

t.test('the SETUID/SETGID drop comes with a warning naming the container and the way out', async (t) => {
  const r = await checkJson([...ALICE, '--state', NAMESPACES, '-f', '-'], { stdin: ksvc('{}') });
  t.equal(r.code, 0);
  const res = r.report.results[0]!;
  t.ok(res.patch.some((p) => p.path === '/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation' || p.path.endsWith('/securityContext/capabilities')));
  const w = res.warnings.find((x) => x.rule === 'TG-WORKLOAD-SETUID')!;
  t.equal(w.path, 'spec.template.spec.containers[0].securityContext');
  t.match(w.message, /The unnamed container containers\[0\] \(Knative names it "user-container"\): it runs as root, so tenant-guard dropped SETUID and SETGID/);
  t.match(w.message, /nginx's master\/worker, gosu, su-exec/);
  t.match(w.message, /run it as non-root \(runAsNonRoot: true and a non-root variant of the image, e\.g\. nginxinc\/nginx-unprivileged/);
  const nonRoot = await checkJson([...ALICE, '--state', NAMESPACES, '-f', '-'], { stdin: ksvc('{runAsNonRoot: true, allowPrivilegeEscalation: false}') });
  t.same(nonRoot.report.results[0]!.warnings, [], 'nothing patched, nothing announced');
  // Denied for another reason: no patch, so no announcement of one.
  const denied = await checkJson([...ALICE, '--state', NAMESPACES, '-f', '-'], { stdin: ksvc('{}').replace('spec:\n  template:\n', 'spec:\n  template:\n    metadata: {annotations: {sidecar.istio.io/inject: "false"}}\n') });
  t.equal(denied.code, 1);
  t.same(denied.report.results[0]!.warnings.filter((x) => x.rule === 'TG-WORKLOAD-SETUID'), []);
});

t.test('a ServiceEntry to a private address outside the cluster names clusterNetwork as the fix', async (t) => {
  const se = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: tenant-1}
spec:
  hosts: [db.corp.example]
  addresses: [10.20.0.5]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.20.0.5}]
`;
  const r = await checkJson([...ALICE, '--state', NAMESPACES, '-f', '-'], { stdin: se });
  t.equal(r.code, 1);
  for (const v of r.report.results[0]!.violations) {
    t.match(v.message, /ask a platform admin to set clusterNetwork\.serviceCIDRs and clusterNetwork\.podCIDRs/, v.path);
    t.notMatch(v.message, /peering/, `${v.path}: no peering advice for an address outside the cluster`);
  }
});
