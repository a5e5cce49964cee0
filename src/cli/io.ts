import type { Readable, Writable } from 'node:stream';

/** The process's streams, passed in so tests drive commands without spawning. */
export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Exit statuses shared by every subcommand. */
export const EXIT_OK = 0;
export const EXIT_DENIED = 1;
export const EXIT_USAGE = 2;

export type Command = (argv: string[], io: CliIO) => Promise<number>;
