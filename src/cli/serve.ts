import { EXIT_USAGE, type CliIO } from './io.js';

// Placeholder until the `serve` command lands.
export async function runServe(_argv: string[], io: CliIO): Promise<number> {
  io.stderr.write('TG_ERR_USAGE: `serve` is not available in this build\n');
  return EXIT_USAGE;
}
