import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const TSX_LOADER = join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const MAIN = join(REPO, 'src', 'cli', 'main.ts');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The real `tenant-guard serve` process (as `npm start` runs it, through tsx
 * instead of a build), in `cwd`, on a free loopback port. Resolves once it
 * logs that it is serving.
 */
export function spawnServe(args: string[], cwd: string, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, 'serve', '--port', '0', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start in ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before serving; stderr: ${err}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { raw: line };
      }
      lines.push(rec);
      if (rec.msg === 'tenant-guard serving') {
        clearTimeout(timer);
        resolvePromise({ child, url: String(rec.address), lines, stderr: () => err, exited });
      }
    });
  });
}
