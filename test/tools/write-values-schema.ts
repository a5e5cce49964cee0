// npx tsx test/tools/write-values-schema.ts (from the repository root)
// Regenerates charts/tenant-guard/values.schema.json's tenancy block from src/config/schema.ts, keeping its descriptions.
import { readFileSync, writeFileSync } from 'node:fs';
import { tenancyConfigSchema } from '../../src/config/schema.js';
const path = 'charts/tenant-guard/values.schema.json';
const values = JSON.parse(readFileSync(path, 'utf8'));
const old = values.properties.tenancy;
const expected: any = structuredClone(tenancyConfigSchema);
delete expected.$id; delete expected.required; delete expected.properties.apiVersion; delete expected.properties.kind;
const withDescriptions = (fresh: any, prev: any): any => {
  if (Array.isArray(fresh)) return fresh.map((x, i) => withDescriptions(x, prev?.[i]));
  if (!fresh || typeof fresh !== 'object') return fresh;
  const out: any = {};
  if (prev && typeof prev === 'object' && typeof prev.description === 'string' && Object.keys(prev)[0] === 'description') out.description = prev.description;
  for (const [k, v] of Object.entries(fresh)) out[k] = withDescriptions(v, prev?.[k]);
  if (prev && typeof prev === 'object' && typeof prev.description === 'string' && !('description' in out)) out.description = prev.description;
  return out;
};
values.properties.tenancy = withDescriptions(expected, old);
writeFileSync(path, JSON.stringify(values, null, 2) + '\n');
