// Regenerates charts/tenant-guard/files/vap-policies.yaml from src/vap/rules.ts:
//   npx tsx test/tools/write-vap-chart.ts
// test/integration/chart-vap.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderChartMutatingPolicies, renderChartPolicies } from '../../src/vap/chart-file.js';

for (const [file, text] of [
  ['vap-policies.yaml', renderChartPolicies()],
  ['map-policies.yaml', renderChartMutatingPolicies()],
] as const) {
  const path = fileURLToPath(new URL(`../../charts/tenant-guard/files/${file}`, import.meta.url));
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
