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
import type { Decision } from '../../src/engine/types.js';
import type { Evaluate } from '../../src/server/admission.js';

// The app as `npm start` runs it: the compiled dist/ the bench has just built
// (tsx's transform of the sources adds a __name() call to every named closure a
// request creates, which is not what users run); BENCH_TSX=1: the sources.
const from = process.env.BENCH_TSX === '1' ? '../../src' : '../../dist';
const load = <T>(path: string) => import(`${from}/${path}`) as Promise<T>;
const { DEFAULT_CONFIG_PATH } = await load<typeof import('../../src/config/default.js')>('config/default.js');
const { evaluate } = await load<typeof import('../../src/engine/index.js')>('engine/index.js');
const { buildApp } = await load<typeof import('../../src/server/app.js')>('server/app.js');
const { manifestState } = await load<typeof import('../../src/server/cluster-state.js')>('server/cluster-state.js');
const { FileConfigProvider } = await load<typeof import('../../src/server/config-provider.js')>('server/config-provider.js');

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
