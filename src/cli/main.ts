#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeError } from '../errors.js';
import { buildInfo } from '../release/build-info.js';
import { EXIT_USAGE, processIO, type CliIO, type Command } from './io.js';

// Loaded on demand: `audit` pulls in @kubernetes/client-node (seconds of start-up
// and tens of MiB), which offline `check` and `certs` never need.
const commands: Record<string, { load: () => Promise<Command>; summary: string }> = {
  serve: { load: async () => (await import('./serve.js')).runServe, summary: 'run the admission webhook over HTTPS' },
  check: { load: async () => (await import('./check.js')).runCheck, summary: 'dry-run manifests through the engine, offline' },
  audit: { load: async () => (await import('./audit.js')).runAudit, summary: 'judge every relevant object of a live cluster' },
  certs: { load: async () => (await import('./certs.js')).runCerts, summary: 'generate a CA and a serving certificate' },
  vap: { load: async () => (await import('./vap.js')).runVap, summary: 'print the stateless rules as ValidatingAdmissionPolicies' },
  test: { load: async () => (await import('./test-suite.js')).runTest, summary: 'run test suites of manifests and expected verdicts' },
  completion: { load: async () => (await import('./completion.js')).completionCommand(commands), summary: 'print a bash or zsh completion script' },
};

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return `usage: tenant-guard <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nRun 'tenant-guard <command> --help' for a command's flags, 'tenant-guard --version' for the version.\n`;
}

/** The package version, read from package.json (one level above src/ and dist/). */
export function version(): string {
  return buildInfo().version;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === 'version') {
    const b = buildInfo();
    io.stdout.write(`tenant-guard ${b.version} (commit ${b.commit}, node ${process.versions.node})\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.stdout : io.stderr).write(usage());
    return name ? 0 : EXIT_USAGE;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.stderr.write(`TG_ERR_USAGE: unknown command "${name}"\nsee 'tenant-guard --help'\n`);
    return EXIT_USAGE;
  }
  try {
    const run = await cmd.load();
    return await run(rest, io);
  } catch (e) {
    // Commands report their own errors; this is the last line of defence against a stack trace.
    io.stderr.write(`${describeError(e)}\n`);
    return EXIT_USAGE;
  }
}

function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  // `tenant-guard check ... | head` closes the pipe early: stop quietly, as
  // other command-line tools do, instead of dying with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  main(process.argv.slice(2), processIO()).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`${describeError(e)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}
