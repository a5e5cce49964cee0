import { EXIT_USAGE, type CliIO } from './io.js';

// Placeholder until the `certs` command lands.
export async function runCerts(_argv: string[], io: CliIO): Promise<number> {
  io.stderr.write('TG_ERR_USAGE: `certs` is not available in this build\n');
  return EXIT_USAGE;
}
