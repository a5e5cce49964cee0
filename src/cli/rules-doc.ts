import type { RuleDoc } from '../engine/context.js';
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
    '| Rule | Kinds | Stops |',
    '|---|---|---|',
    ...rules.map((r) => `| [\`${r.id}\`](#${anchor(r.id)}) | ${cell(r.kinds.join(', '))} | ${cell(r.stops)}${r.warningOnly ? ' (warning only)' : ''} |`),
    '',
  ];
  for (const r of rules) {
    lines.push(`## ${r.id}`, '');
    lines.push(`**Kinds:** ${r.kinds.map((k) => `\`${k}\``).join(', ')}${r.warningOnly ? ' — **warning only**, never a denial' : ''}`, '');
    lines.push(`**Stops:** ${r.stops}`, '');
    lines.push(`**Why:** ${r.why}`, '');
    if (RULE_INSTEAD[r.id]) lines.push(`**What to do instead:** ${RULE_INSTEAD[r.id]}`, '');
    if (r.cite) lines.push(`**Reference:** ${reference(r.cite)}`, '');
    lines.push(...exampleSection(r));
  }
  return lines.join('\n').trimEnd() + '\n';
}
