import t from 'tap';
import { admin, alice, judge, mallory, netIstio, obj, readDocs, ruleIds } from './istio-fixtures.js';

const [localGateway] = readDocs('test/fixtures/reference/kind/config/knative-local-gateway.yaml');

const gw = (name: string, ns: string, servers: string) =>
  `apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  selector: {istio: ingressgateway}\n  servers: ${servers}\n`;

t.test('the reference knative-local-gateway (ISTIO_MUTUAL) is admitted for a platform admin', async (t) => {
  t.ok(localGateway);
  const d = judge('CREATE', localGateway!, admin);
  t.ok(d.intercepted);
  t.ok(d.allowed, JSON.stringify(d.violations));
  t.ok(judge('UPDATE', localGateway!, admin, { oldObject: localGateway! }).allowed);
});

t.test('TG-ISTIO-GATEWAY: tenants and unknown users may not write Gateways anywhere', async (t) => {
  const own = gw('mine', 'tenant-1', '[{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]');
  for (const who of [alice, mallory]) {
    const d = judge('CREATE', own, who);
    t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-GATEWAY', 'spec.selector']], who.username);
  }
  t.same(ruleIds(judge('CREATE', gw('x', 'legacy', '[]'), mallory)), ['TG-ISTIO-GATEWAY'], 'unowned namespace');
  t.ok(judge('CREATE', own, admin).allowed, 'platform admins manage gateways');
  t.ok(judge('CREATE', gw('ingress-1', 'tenant-1', '[{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["a.example.com"], tls: {mode: SIMPLE, credentialName: c}}]'), netIstio).allowed, 'net-istio');
  t.ok(judge('DELETE', obj(own), alice).allowed, 'deleting a gateway of its own namespace opens nothing');
});

t.test('TG-ISTIO-LOCAL-GATEWAY-MTLS: every server of knative-local-gateway must be ISTIO_MUTUAL', async (t) => {
  const plaintext = gw('knative-local-gateway', 'knative-serving', '[{port: {number: 8081, name: http, protocol: HTTP}, hosts: ["*"]}]');
  const d = judge('UPDATE', plaintext, admin, { oldObject: localGateway! });
  t.same(d.violations.map((v) => [v.rule, v.path]), [['TG-ISTIO-LOCAL-GATEWAY-MTLS', 'spec.servers[0].tls.mode']]);
  t.match(d.violations[0]!.message, /plaintext/);

  const mixed = gw(
    'knative-local-gateway',
    'knative-serving',
    '[{port: {number: 8012, name: https, protocol: HTTPS}, hosts: ["*"], tls: {mode: ISTIO_MUTUAL}}, {port: {number: 8013, name: tls, protocol: HTTPS}, hosts: ["*"], tls: {mode: SIMPLE, credentialName: c}}, {port: {number: 8014, name: p, protocol: TLS}, hosts: ["*"], tls: {}}]',
  );
  const m = judge('CREATE', mixed, admin);
  t.same(m.violations.map((v) => v.path), ['spec.servers[1].tls.mode', 'spec.servers[2].tls.mode']);
  t.match(m.violations[1]!.message, /PASSTHROUGH/);

  // Other gateways may serve plaintext (the public knative-ingress-gateway does).
  t.ok(judge('CREATE', gw('knative-ingress-gateway', 'knative-serving', '[{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]'), admin).allowed);

  const byController = judge('UPDATE', plaintext, netIstio, { oldObject: localGateway! });
  t.ok(byController.allowed, 'platform controllers are warned, never blocked');
  t.match(byController.warnings.join('\n'), /TG-ISTIO-LOCAL-GATEWAY-MTLS/);
});
