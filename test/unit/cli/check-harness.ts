// Drives `tenant-guard check` in-process through an in-memory CliIO.
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runCheck } from '../../../src/cli/check.js';
import type { CheckReportJson } from '../../../src/cli/check-output.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const NAMESPACES = 'test/fixtures/namespaces.yaml';
export const ALICE = ['--as', 'alice', '--as-group', 'tenant-1-admins'];
export const BOB = ['--as', 'bob', '--as-group', 'tenant-2-admins'];

/** The demo tenants, passed explicitly as every check run must (there is no implicit default). */
export const EXAMPLE_CONFIG = ['--config', 'examples/tenancy.yaml'];

/** `args` with the example config unless they name one (or `noConfig`). */
export function withConfig(args: string[]): string[] {
  return args.includes('--config') || args.includes('-h') || args.includes('--help') ? args : [...EXAMPLE_CONFIG, ...args];
}

export interface CheckRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function check(args: string[], opts: { stdin?: string; cwd?: string; noConfig?: boolean } = {}): Promise<CheckRun> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  stdin.end(opts.stdin ?? '');
  const argv = opts.noConfig ? args : withConfig(args);
  const cwd = opts.cwd ?? REPO;
  // A test in its own directory names the example config by its absolute path.
  const code = await runCheck(cwd === REPO ? argv : argv.map((a) => (a === EXAMPLE_CONFIG[1] ? `${REPO}${a}` : a)), { stdin, stdout, stderr, env: {}, cwd });
  return { code, stdout: out, stderr: err };
}

/** Runs with `-o json` and parses the report; throws with stderr when the run did not produce one. */
export async function checkJson(args: string[], opts: { stdin?: string; cwd?: string } = {}): Promise<CheckRun & { report: CheckReportJson }> {
  const run = await check([...args, '-o', 'json'], opts);
  if (run.code === 2) throw new Error(`check exited 2: ${run.stderr}`);
  return { ...run, report: JSON.parse(run.stdout) as CheckReportJson };
}

/** Every rule id in a report. */
export function ruleIds(report: CheckReportJson): string[] {
  return report.results.flatMap((r) => r.violations.map((v) => v.rule));
}
