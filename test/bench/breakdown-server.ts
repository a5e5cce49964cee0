// A server of `npm run bench`'s cost breakdown: tenant-guard's own app
// (buildApp, the admission handler, the reference state, the bundled config)
// with the engine's judgment taken out in steps, so the CPU a review costs can
// be split into the server around the engine, the encoding of the patch and
// the judgment itself. Modes:
//   judged         the real engine, as `serve` runs it;
//   fixed-patched  the decision the engine gave the first review, returned
//                  for every review: everything but the judgment (the patch is
//                  still encoded per review);
//   fixed-allowed  "allowed", no patch: the server with no judgment and no patch.
// Run as its own process: `breakdown-server.ts <mode> <port> <certs dir> <state path>...`.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { evaluate } from '../../src/engine/index.js';
import type { Decision } from '../../src/engine/types.js';
import { buildApp } from '../../src/server/app.js';
import type { Evaluate } from '../../src/server/admission.js';
import { manifestState } from '../../src/server/cluster-state.js';
import { FileConfigProvider } from '../../src/server/config-provider.js';

const [mode, port, certs, ...statePaths] = process.argv.slice(2);
const logger = pino({ level: 'info' }, pino.destination('/dev/null'));
const state = await manifestState(statePaths, process.cwd());
const config = new FileConfigProvider(DEFAULT_CONFIG_PATH, logger);
let first: Decision | undefined;
const modes: Record<string, Evaluate> = {
  judged: evaluate,
  'fixed-patched': (input, s, c) => (first ??= evaluate(input, s, c)),
  'fixed-allowed': () => ({ allowed: true, intercepted: true, violations: [], warnings: [], patch: [] }),
};
const chosen = modes[mode!];
if (!chosen) throw new Error(`unknown mode ${mode}; one of ${Object.keys(modes).join(', ')}`);
const app = buildApp({
  config,
  state: state.store,
  logger,
  evaluate: chosen,
  tls: { cert: readFileSync(`${certs}/tls.crt`, 'utf8'), key: readFileSync(`${certs}/tls.key`, 'utf8') },
});
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.stdout.write('listening\n');
process.on('SIGTERM', () => process.exit(0));
