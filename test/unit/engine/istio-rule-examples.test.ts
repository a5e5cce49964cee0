// Every documented example of the Istio rules is rejected by its own rule,
// submitted the way docs/rules.md describes (alice of tenant-1 unless exampleAs).
import t from 'tap';
import type { RuleDoc } from '../../../src/engine/context.js';
import { destinationRuleModule } from '../../../src/engine/destination-rule.js';
import { ruleCatalog } from '../../../src/engine/index.js';
import { istioNetworkingModule } from '../../../src/engine/istio-networking.js';
import { peerAuthenticationModule } from '../../../src/engine/peer-authentication.js';
import { docs, judge, store } from './istio-fixtures.js';

const rules: RuleDoc[] = [...peerAuthenticationModule.rules, ...destinationRuleModule.rules, ...istioNetworkingModule.rules];

t.test('rule docs are complete and ids unique in the catalog', async (t) => {
  for (const r of rules) {
    t.match(r.id, /^TG-(PEERAUTHN|DESTRULE|ISTIO)-[A-Z-]+$/, r.id);
    t.ok(r.stops && r.why && r.cite && r.kinds.length > 0, `${r.id} documented`);
    if (r.warningOnly) t.notOk(r.example, `${r.id}: warning-only rules carry no rejected example`);
    t.equal(ruleCatalog.filter((c) => c.id === r.id).length, 1, `${r.id} once in the catalog`);
  }
});

for (const r of rules.filter((x) => x.example)) {
  t.test(`example of ${r.id} is rejected by it`, async (t) => {
    const all = docs(r.example!);
    const subject = all[all.length - 1]!;
    const state = store(...all.slice(0, -1));
    const user = r.exampleAs ?? { username: 'alice', groups: [] };
    const d = judge(r.exampleOperation ?? 'CREATE', subject, user, { state });
    t.notOk(d.allowed);
    t.ok(d.violations.some((v) => v.rule === r.id), `${r.id} in ${JSON.stringify(d.violations.map((v) => v.rule))}`);
  });
}
