import t from 'tap';
import { RULE_IDS } from '../../../src/config/rule-ids.js';
import { FAIL_CLOSED_RULES, HARDENING_RULES, PATH_RULES } from '../../../src/config/rule-classes.js';
import { ruleCatalog } from '../../../src/engine/index.js';

// The config layer checks `enforcement` and `exceptions` against a list of
// rule ids it keeps itself (it sits below the engine): the list must be the
// engine's catalog, exactly.
t.test("the config's rule ids are the engine's catalog", async (t) => {
  t.same([...RULE_IDS].sort(), [...new Set(ruleCatalog.map((r) => r.id))].sort(), 'regenerate src/config/rule-ids.ts from ruleCatalog');
});

t.test('every rule a class names exists', async (t) => {
  const known = new Set(RULE_IDS);
  for (const set of [FAIL_CLOSED_RULES, HARDENING_RULES, PATH_RULES]) for (const id of set) t.ok(known.has(id), id);
});
