// TG-PEERAUTHN-MALFORMED: a PeerAuthentication field the CRD does not define is refused, naming it.
import t from 'tap';
import { admin, alice, judge, ruleIds } from './istio-fixtures.js';

const pa = (spec: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: tenant-1}\nspec: ${spec}\n`;

t.test('unknown PeerAuthentication fields are refused, never dropped', async (t) => {
  for (const [spec, path] of <Array<[string, string]>>[
    ['{mtls: {mod: DISABLE}}', 'spec.mtls.mod'],
    ['{mtls: {mode: STRICT}, portLevelMTLS: {"8080": {mode: DISABLE}}}', 'spec.portLevelMTLS'],
    ['{mtls: {mode: STRICT}, portLevelMtls: {"8080": {mod: DISABLE}}}', 'spec.portLevelMtls["8080"].mod'],
    ['{selector: {matchLabels: {app: a}, matchExpressions: []}, mtls: {mode: STRICT}}', 'spec.selector.matchExpressions'],
  ]) {
    for (const user of [alice, admin]) {
      const d = judge("CREATE", pa(spec), user);
      t.same(ruleIds(d), ['TG-PEERAUTHN-MALFORMED'], spec);
      t.equal(d.violations[0]?.path, path);
      t.match(d.violations[0]?.message ?? '', /unknown field/);
    }
  }
  t.ok(judge('CREATE', pa('{selector: {matchLabels: {app: a}}, mtls: {mode: STRICT}, portLevelMtls: {"8080": {mode: STRICT}}}'), alice).allowed);
});
