// Regenerates docs/rules.md from the engine's RuleDocs:
//   npx tsx test/tools/write-rules-doc.ts
// test/unit/docs/rules-doc.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderRulesMarkdown } from '../../src/cli/rules-doc.js';
import { ruleCatalog } from '../../src/engine/index.js';

export const RULES_DOC_PATH = fileURLToPath(new URL('../../docs/rules.md', import.meta.url));

writeFileSync(RULES_DOC_PATH, renderRulesMarkdown(ruleCatalog));
process.stdout.write(`wrote ${RULES_DOC_PATH} (${ruleCatalog.length} rules)\n`);
