import { EXIT_USAGE, type CliIO } from './io.js';

// Placeholder until the `check` command lands.
export async function runCheck(_argv: string[], io: CliIO): Promise<number> {
  io.stderr.write('TG_ERR_USAGE: `check` is not available in this build\n');
  return EXIT_USAGE;
}
