import { EXIT_USAGE, type CliIO } from './io.js';

// Placeholder until the `audit` command lands.
export async function runAudit(_argv: string[], io: CliIO): Promise<number> {
  io.stderr.write('TG_ERR_USAGE: `audit` is not available in this build\n');
  return EXIT_USAGE;
}
