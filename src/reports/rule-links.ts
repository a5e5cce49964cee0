import { ruleCatalog } from '../engine/index.js';

/** Where denials link to by default: docs/rules.md of the project (serve/check --rules-url, chart rulesUrl to change it). */
export const DEFAULT_RULES_URL = 'https://github.com/tenant-guard/tenant-guard/blob/main/docs/rules.md';

const known = new Set(ruleCatalog.map((r) => r.id));

/** GitHub's heading anchor for a rule id's section (`## TG-X-Y` -> `tg-x-y`). */
export function ruleAnchor(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9-]/g, '');
}

/** The link to a rule's section of docs/rules.md, or undefined for an id without a section. */
export function ruleLink(base: string, id: string): string | undefined {
  return known.has(id) ? `${base}#${ruleAnchor(id)}` : undefined;
}

/** A violation's message ending with the link to its rule's section. */
export function withRuleLink(base: string | undefined, rule: string, message: string): string {
  const link = base === undefined ? undefined : ruleLink(base, rule);
  return link ? `${message} See ${link}` : message;
}
