import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What `tenant-guard --version` and tenant_guard_build_info report. */
export interface BuildInfo {
  version: string;
  /** The git commit the build was made from; "unknown" outside a git checkout without an embedded one. */
  commit: string;
}

// src/release and dist/release are both two levels below the package root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Written by `npm run build` (src/release/write-build-info.ts) next to the compiled code. */
export const BUILD_INFO_FILE = fileURLToPath(new URL('../build-info.json', import.meta.url));

function embeddedCommit(): string | undefined {
  try {
    const c = (JSON.parse(readFileSync(BUILD_INFO_FILE, 'utf8')) as { commit?: unknown }).commit;
    return typeof c === 'string' && c !== '' && c !== 'unknown' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The commit of the checkout at ROOT, or undefined (no git, not a repository). */
export function gitCommit(cwd = ROOT): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    return /^[0-9a-f]{7,40}$/.test(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

let cached: BuildInfo | undefined;

/**
 * Version from package.json; commit from TG_COMMIT (the image build's
 * argument), else the file embedded at build time, else the git checkout
 * the code runs from (tsx in a clone), else "unknown".
 */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const fromEnv = process.env.TG_COMMIT && /^[0-9a-f]{7,40}$/.test(process.env.TG_COMMIT) ? process.env.TG_COMMIT : undefined;
  cached = { version: pkg.version, commit: fromEnv ?? embeddedCommit() ?? gitCommit() ?? 'unknown' };
  return cached;
}
