import type { RuleDoc } from '../engine/context.js';
import { renderKindTable } from '../engine/mesh-kinds.js';
import { ruleClass } from '../config/rule-classes.js';

/** A rule's action on a fresh install, and how the platform may relax it (docs/enforcement.md). */
export function defaultAction(r: RuleDoc): string {
  if (r.warningOnly) return 'warn (warning only)';
  switch (ruleClass(r.id)) {
    case 'fail-closed':
      return 'deny, always (no action or exception relaxes it)';
    case 'hardening':
      return 'deny (warn/audit by `enforcement`; exceptions by scope)';
    case 'isolation (path)':
      return 'deny (warn/audit by `enforcement`; exceptions only for one exact path)';
    case 'isolation':
      return 'deny (warn/audit by `enforcement`; no exceptions)';
  }
}

function shortAction(r: RuleDoc): string {
  if (r.warningOnly) return 'warn';
  return ruleClass(r.id) === 'fail-closed' ? 'deny (always)' : 'deny';
}
import { CEL_RULES } from '../vap/rules.js';
import { ruleAnchor } from '../reports/rule-links.js';
import { RULE_INSTEAD } from './rules-instead.js';

/** Who submits a rule's example when the rule does not say: tenant-1's admin in the bundled config. */
export const DEFAULT_EXAMPLE_USER = { username: 'alice', groups: ['tenant-1-admins'] };

/** Table cells cannot hold pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

const anchor = ruleAnchor;

function reference(cite: string): string {
  // Bare URLs become links; anything else (a code path, a doc title) is shown as written.
  // A URL ends before trailing punctuation of the sentence ("...context/;" is "...context/" then ";").
  return cite.replace(/https?:\/\/[^\s<>()]*[^\s<>().,;:'"]/g, (url) => `<${url}>`);
}

function documentCount(yaml: string): number {
  // Documents are separated by lines starting with `---`; comment-only documents do not count.
  return yaml
    .split(/^---.*$/m)
    .filter((d) => d.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('#'))).length;
}

function exampleSection(r: RuleDoc): string[] {
  if (!r.example) return [];
  const user = r.exampleAs ?? DEFAULT_EXAMPLE_USER;
  const as = `\`${user.username}\`${user.groups.length ? ` (groups ${user.groups.map((g) => `\`${g}\``).join(', ')})` : ''}`;
  const op = r.exampleOperation ?? 'CREATE (UPDATE when the object already exists in the state)';
  const outcome = r.warningOnly ? 'admitted with a warning' : 'rejected';
  const stateNote =
    documentCount(r.example) > 1 ? ' The documents before the last are the cluster state; the last one is submitted.' : '';
  const flags = [`--as ${user.username}`, ...user.groups.map((g) => `--as-group ${g}`)];
  if (r.exampleOperation) flags.push(`--operation ${r.exampleOperation}`);
  return [
    `**Example** (${outcome} when submitted by ${as} as ${op}).${stateNote} ` +
      `Try it: \`tenant-guard check --config examples/tenancy.yaml ${flags.join(' ')} -f example.yaml\`${stateNote ? ' with the state documents moved to a file passed as `--state`' : ''}.`,
    '',
    '```yaml',
    r.example.trimEnd(),
    '```',
    '',
  ];
}

/** Whether the rule holds without the webhook: compiled into a ValidatingAdmissionPolicy (src/vap/rules.ts). */
function withoutWebhook(id: string): { cell: string; line: string } {
  const cel = CEL_RULES.find((r) => r.id === id);
  if (!cel) return { cell: 'webhook only', line: 'webhook only (needs the webhook: cluster state, a patch, or parsing CEL cannot do)' };
  const policy = `ValidatingAdmissionPolicy \`<fullname>-${cel.family}\``;
  if (!cel.webhookOnly) return { cell: 'yes (VAP)', line: `yes: ${policy} (\`tenant-guard vap\`, chart \`vap.enabled\`)` };
  return { cell: 'yes (VAP), partly', line: `yes: ${policy}, except ${cel.webhookOnly}, which only the webhook checks` };
}

/**
 * docs/rules.md, generated from the engine's RuleDocs so the documentation
 * cannot drift from the code (test/unit/docs/rules-doc.test.ts compares them;
 * regenerate with `npx tsx test/tools/write-rules-doc.ts`).
 */
export function renderRulesMarkdown(rules: RuleDoc[]): string {
  const lines: string[] = [
    '<!-- Generated from the engine\'s RuleDocs by `npx tsx test/tools/write-rules-doc.ts`. Do not edit by hand. -->',
    '# Rules',
    '',
    'Every rule tenant-guard enforces. Rule ids are stable: they appear in denial messages, in `tenant-guard check` output and in metrics, ' +
      'so CI jobs and alerts can match on them. Each example below is run through the engine by the test suite and must be rejected by its rule.',
    '',
    'The default action of every rule is the config\'s `enforcement.action`, `deny` unless set; `enforcement.overrides` and `exceptions` relax rules ' +
      'per rule, tenant and namespace while a running cluster is brought into line (docs/enforcement.md). The column *Default action* is a fresh install\'s action.',
    '',
    'The column *Without the webhook* says which rules the API server enforces by itself, through the ValidatingAdmissionPolicies `tenant-guard vap` prints ' +
      'and the Helm chart installs (`vap.enabled`), with the same rule ids, while the webhook is down or failing open; the e2e tests refuse every such example ' +
      'with the webhook stopped and compare the policies with the engine on generated objects. The policies follow the same `enforcement` and `exceptions` ' +
      '(one binding per action in use; docs/enforcement.md). The others need cluster state, a patch or parsing that CEL cannot do.',
    '',
    '| Rule | Kinds | Stops | Default action | Without the webhook |',
    '|---|---|---|---|---|',
    ...rules.map(
      (r) =>
        `| [\`${r.id}\`](#${anchor(r.id)}) | ${cell(r.kinds.join(', '))} | ${cell(r.stops)}${r.warningOnly ? ' (warning only)' : ''} | ${shortAction(r)} | ${withoutWebhook(r.id).cell} |`,
    ),
    '',
  ];
  for (const r of rules) {
    lines.push(`## ${r.id}`, '');
    lines.push(`**Kinds:** ${r.kinds.map((k) => `\`${k}\``).join(', ')}${r.warningOnly ? ' — **warning only**, never a denial' : ''}`, '');
    lines.push(`**Stops:** ${r.stops}`, '');
    lines.push(`**Default action:** ${defaultAction(r)}`, '');
    lines.push(`**Why:** ${r.why}`, '');
    if (RULE_INSTEAD[r.id]) lines.push(`**What to do instead:** ${RULE_INSTEAD[r.id]}`, '');
    if (r.cite) lines.push(`**Reference:** ${reference(r.cite)}`, '');
    lines.push(`**Without the webhook:** ${withoutWebhook(r.id).line}.`, '');
    lines.push(...exampleSection(r));
  }
  lines.push(...renderKindTable());
  return lines.join('\n').trimEnd() + '\n';
}
