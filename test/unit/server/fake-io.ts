import { PassThrough, Writable } from 'node:stream';
import type { CliIO } from '../../../src/cli/io.js';

/** A CliIO whose output is captured as text, for driving commands without spawning. */
export function fakeIO(cwd: string, stdin = ''): CliIO & { out: () => string; err: () => string } {
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  const input = new PassThrough();
  input.end(stdin);
  return {
    stdin: input,
    stdout: sink(chunks.out),
    stderr: sink(chunks.err),
    env: {},
    cwd,
    out: () => Buffer.concat(chunks.out).toString('utf8'),
    err: () => Buffer.concat(chunks.err).toString('utf8'),
  };
}
