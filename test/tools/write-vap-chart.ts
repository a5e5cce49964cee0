// Regenerates charts/tenant-guard/files/vap-policies.yaml from src/vap/rules.ts:
//   npx tsx test/tools/write-vap-chart.ts
// test/integration/chart-vap.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderChartPolicies } from '../../src/vap/chart-file.js';

const path = fileURLToPath(new URL('../../charts/tenant-guard/files/vap-policies.yaml', import.meta.url));
writeFileSync(path, renderChartPolicies());
process.stdout.write(`wrote ${path}\n`);
