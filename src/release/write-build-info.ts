// Run by `npm run build` after tsc: embeds the commit into dist/build-info.json
// so `tenant-guard --version` and tenant_guard_build_info name it where there
// is no git (the image). TG_COMMIT wins (Dockerfile build argument).
import { writeFileSync } from 'node:fs';
import { BUILD_INFO_FILE, gitCommit } from './build-info.js';

const fromEnv = process.env.TG_COMMIT && /^[0-9a-f]{7,40}$/.test(process.env.TG_COMMIT) ? process.env.TG_COMMIT : undefined;
const commit = fromEnv ?? gitCommit() ?? 'unknown';
writeFileSync(BUILD_INFO_FILE, JSON.stringify({ commit }) + '\n');
process.stdout.write(`build-info: commit ${commit}\n`);
