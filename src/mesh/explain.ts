import { compileCondition, compileOperation, compileSource, type HopKeys } from './compile.js';
import { evaluate, type Assignment } from './formula.js';
import { SOURCE_FIELDS, type OperationField, type ParsedRule, type SourceField } from './policy.js';

const POSITIVE_SOURCE: SourceField[] = ['namespaces', 'principals', 'serviceAccounts', 'trustDomains', 'requestPrincipals', 'ipBlocks', 'remoteIpBlocks'];
const POSITIVE_OP: OperationField[] = ['hosts', 'ports', 'paths', 'methods'];

/**
 * Which parts of `rule` (spec.rules[i]) a request satisfies, as field paths
 * with the matching value, e.g. `rules[0].from[0].source.namespaces[1] = "tenant-2"`.
 */
export function explainRuleMatch(rule: ParsedRule, k: HopKeys, a: Assignment): string {
  const base = `rules[${rule.index}]`;
  const out: string[] = [];
  if (!rule.from) out.push(`${base} has no from, so it admits any caller`);
  else {
    const src = rule.from.find((s) => evaluate(compileSource(s, k), a) === 1);
    if (src) {
      const p = `${base}.from[${src.index}].source`;
      let named = false;
      for (const f of POSITIVE_SOURCE) {
        const vals = src.fields[f];
        if (!vals) continue;
        const i = vals.findIndex((v) => evaluate(compileSource({ ...src, fields: { [f]: [v] } }, k), a) === 1);
        if (i >= 0) {
          out.push(`${p}.${f}[${i}] = ${JSON.stringify(vals[i])}`);
          named = true;
        }
      }
      if (!named) {
        const negs = SOURCE_FIELDS.filter((f) => f.startsWith('not') && src.fields[f]);
        out.push(
          negs.length > 0
            ? `${p} has only ${negs.map((f) => `${f} = ${JSON.stringify(src.fields[f])}`).join(', ')}, which every other caller (and plaintext) passes`
            : `${p} is empty, so it admits any caller`,
        );
      }
    }
  }
  const op = rule.to?.find((o) => evaluate(compileOperation(o, k), a) === 1);
  if (op) {
    for (const f of POSITIVE_OP) {
      const vals = op.fields[f];
      if (!vals) continue;
      const i = vals.findIndex((v) => evaluate(compileOperation({ index: 0, fields: { [f]: [v] } }, k), a) === 1);
      if (i >= 0) out.push(`${base}.to[${op.index}].operation.${f}[${i}] = ${JSON.stringify(vals[i])}`);
    }
  }
  for (const c of rule.when) {
    if (!c.values) continue;
    const i = c.values.findIndex((v) => evaluate(compileCondition({ ...c, notValues: undefined, values: [v] }, k), a) === 1);
    if (i >= 0) out.push(`${base}.when[${c.index}] ${c.key} = ${JSON.stringify(c.values[i])}`);
  }
  return out.length > 0 ? out.join(', ') : base;
}
