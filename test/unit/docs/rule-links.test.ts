// Issue 21: every denial ends with a link to its rule's section of
// docs/rules.md, and every link of docs/rules.md resolves.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ruleCatalog } from '../../../src/engine/index.js';
import { DEFAULT_RULES_URL, ruleAnchor, ruleLink, withRuleLink } from '../../../src/reports/rule-links.js';
import { denied } from '../../../src/server/responses.js';
import { check, checkJson, NAMESPACES } from '../cli/check-harness.js';

const RULES_MD = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
/** GitHub's anchors of the page's headings. */
const anchors = new Set([...RULES_MD.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));

t.test('each rule\'s link names an anchor of docs/rules.md', async (t) => {
  t.ok(DEFAULT_RULES_URL.endsWith('/docs/rules.md'));
  for (const r of ruleCatalog) {
    const link = ruleLink(DEFAULT_RULES_URL, r.id)!;
    t.equal(link, `${DEFAULT_RULES_URL}#${ruleAnchor(r.id)}`);
    t.ok(anchors.has(ruleAnchor(r.id)), `${r.id}: #${ruleAnchor(r.id)} is a heading`);
  }
  t.equal(ruleLink(DEFAULT_RULES_URL, 'TG-NOT-A-RULE'), undefined, 'no link for an id without a section');
  t.equal(withRuleLink(undefined, 'TG-WORKLOAD-HOST-PATH', 'm.'), 'm.', 'no base URL, no link');
});

t.test('docs/rules.md: every in-page link resolves, no URL swallows the sentence\'s punctuation', async (t) => {
  const inPage = [...RULES_MD.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  t.ok(inPage.length >= ruleCatalog.length);
  for (const a of inPage) t.ok(anchors.has(a), `#${a}`);
  const urls = [...RULES_MD.matchAll(/<(https?:\/\/[^>]+)>/g)].map((m) => m[1]!);
  t.ok(urls.length > 10);
  for (const u of urls) t.notMatch(u, /[.,;:'")]$/, u);
  t.notMatch(RULES_MD, /\/;>/, 'no "…/;>" links');
});

t.test('a denial from the webhook ends each violation with its link', async (t) => {
  const r = denied('u', [{ rule: 'TG-WORKLOAD-HOST-PATH', path: 'spec.volumes[0]', message: 'no hostPath.' }], [], 'https://docs.example/rules.md');
  t.equal(r.status?.message, 'tenant-guard found 1 violation:\n[TG-WORKLOAD-HOST-PATH] spec.volumes[0]: no hostPath. See https://docs.example/rules.md#tg-workload-host-path');
});

t.test('check: text and json carry the link; --rules-url changes or drops it', async (t) => {
  const args = ['--as', 'alice', '--as-group', 'tenant-1-admins', '--state', NAMESPACES, '-f', 'examples/bad-service.yaml'];
  const text = await check(args);
  t.match(text.stdout, /TG-WORKLOAD-INJECT-OPTOUT .* See https:\/\/github\.com\/tenant-guard\/tenant-guard\/blob\/main\/docs\/rules\.md#tg-workload-inject-optout\n/);
  const json = await checkJson([...args, '--rules-url', 'https://internal.example/tg/rules.md']);
  t.equal(json.report.results[0]!.violations[0]!.docs, 'https://internal.example/tg/rules.md#tg-workload-inject-optout');
  const none = await check([...args, '--rules-url', '']);
  t.notMatch(none.stdout, / See https?:/);
});

t.test('docs/rules.md says, for every rule, what to do instead', async (t) => {
  // One section per rule (the Kinds table that follows them is no rule).
  const sections = RULES_MD.split(/^## /m)
    .slice(1)
    .filter((sec) => /^TG-/.test(sec));
  t.equal(sections.length, ruleCatalog.length);
  for (const sec of sections) t.match(sec, /\n\*\*What to do instead:\*\* \S/, sec.split('\n')[0]!);
});
