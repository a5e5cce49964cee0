import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { impersonate } from '../../../src/cli/check-identity.js';
import { checkManifests, seedState } from '../../../src/cli/check-run.js';
import { DEFAULT_EXAMPLE_USER, renderRulesMarkdown } from '../../../src/cli/rules-doc.js';
import { parseManifests } from '../../../src/cluster/manifests.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import type { RuleDoc } from '../../../src/engine/context.js';
import { ruleCatalog } from '../../../src/engine/index.js';

const RULES_MD = fileURLToPath(new URL('../../../docs/rules.md', import.meta.url));
const config = loadDefaultTenancyConfig();

t.test('docs/rules.md is generated from the rule catalog', async (t) => {
  let onDisk = '';
  try {
    onDisk = readFileSync(RULES_MD, 'utf8');
  } catch {
    // compared below: an absent file is just as stale
  }
  t.equal(onDisk, renderRulesMarkdown(ruleCatalog), 'docs/rules.md is out of date: regenerate it with `npx tsx test/tools/write-rules-doc.ts`');
});

t.test('rule ids are stable-shaped and unique, and every rule says what it stops and why', async (t) => {
  const seen = new Set<string>();
  for (const r of ruleCatalog) {
    t.match(r.id, /^TG-[A-Z0-9]+(-[A-Z0-9]+)+$/, `${r.id} has the TG-<AREA>-<WHAT> shape`);
    t.notOk(seen.has(r.id), `${r.id} is declared once`);
    seen.add(r.id);
    t.ok(r.stops.trim().length > 0, `${r.id} has stops`);
    t.ok(r.why.trim().length > 0, `${r.id} has why`);
    t.ok(r.kinds.length > 0, `${r.id} names its kinds`);
  }
});

/**
 * Run a rule's example the way docs/rules.md says: the documents before the
 * last are the cluster state, the last is submitted by `exampleAs` (default
 * alice of tenant-1) with `exampleOperation` (default CREATE, UPDATE when the
 * object is already in the state).
 */
function runExample(r: RuleDoc) {
  const docs = parseManifests(r.example!, `rule ${r.id} example`);
  const submitted = docs.at(-1);
  if (!submitted) throw new Error(`rule ${r.id}: example holds no object`);
  const store = new MemoryStore();
  seedState(store, docs.slice(0, -1), 'default');
  const user = r.exampleAs ?? DEFAULT_EXAMPLE_USER;
  const operation = r.exampleOperation;
  // `check` (and this runner) submit writes only; a CONNECT example could not be reproduced by users.
  if (operation === 'CONNECT') throw new Error(`rule ${r.id}: exampleOperation CONNECT cannot be run through check`);
  const [result] = checkManifests([submitted], store, config, {
    userInfo: impersonate(user.username, user.groups),
    operation,
    defaultNamespace: 'default',
  });
  return result!;
}

t.test('every RuleDoc example is rejected by its rule', async (t) => {
  const withExamples = ruleCatalog.filter((r) => r.example);
  t.comment(`${withExamples.length} of ${ruleCatalog.length} rules have an example; without: ${ruleCatalog.filter((r) => !r.example).map((r) => r.id).join(', ') || 'none'}`);
  for (const r of withExamples) {
    t.test(r.id, async (t) => {
      const { decision, input } = runExample(r);
      const found = decision.violations.map((v) => `${v.rule}: ${v.message}`);
      if (r.warningOnly) {
        t.equal(decision.allowed, true, `${r.id} is warning-only: its example is admitted (violations: ${found.join('; ') || 'none'})`);
        t.ok(decision.warnings.length > 0, `${r.id}: the example (${input.operation}) draws a warning`);
      } else {
        t.equal(decision.allowed, false, `${r.id}: the example (${input.operation} ${input.kind.kind}) is rejected`);
        t.ok(
          decision.violations.some((v) => v.rule === r.id),
          `${r.id}: the rejection names the rule (got ${found.join('; ') || (decision.intercepted ? 'no violation' : 'not intercepted')})`,
        );
      }
    });
  }
});
