// The built CLI (dist/) as real processes: `serve` on loopback with real TLS,
// and `check`, each timed from spawn, with its memory read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const CLI = join(REPO, 'dist', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The benchmark measures what users run: `npm run build` output. Rebuilt when a source is newer than dist/. */
export function ensureBuilt(log: (s: string) => void): void {
  if (existsSync(CLI) && newestMtime(join(REPO, 'dist')) >= newestMtime(join(REPO, 'src'))) return;
  log('building dist/ (npm run build) ...');
  const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
}

/** Development certificates for 127.0.0.1, made once by `tenant-guard certs` and shared by every serve process. */
export function makeCerts(dir: string): { cert: string; key: string; ca: string } {
  const r = spawnSync(process.execPath, [CLI, 'certs', '--out', dir, '--dns', 'localhost', '--ip', '127.0.0.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tenant-guard certs failed: ${r.stderr}`);
  return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}

/** VmRSS and VmHWM (peak) of a live process, in MiB; undefined once it is gone. */
export function memoryMiB(pid: number): { rss: number; peak: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/**
 * CPU time (user + system) the process has used, in ms, from /proc/<pid>/stat
 * (fields 14 and 15, in clock ticks of 10 ms): what a review costs the server
 * whatever share of the machine it got, so a loaded machine does not hide it.
 */
export function cpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
    s.on('error', fail);
  });
}

export type Outcome = { kind: 'answer'; ms: number; status: number; body: string } | { kind: 'timeout' } | { kind: 'error'; message: string };

/** One request; `timeoutMs` bounds the wait for the whole answer. */
export function call(url: string, agent: Agent, body: string | undefined, timeoutMs: number): Promise<Outcome> {
  return new Promise((done) => {
    const start = process.hrtime.bigint();
    let settled = false;
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(o);
    };
    const req = request(
      url,
      { method: body === undefined ? 'GET' : 'POST', agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => settle({ kind: 'answer', ms: Number(process.hrtime.bigint() - start) / 1e6, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => settle({ kind: 'error', message: e.message }));
      },
    );
    const timer = setTimeout(() => {
      settle({ kind: 'timeout' });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => settle({ kind: 'error', message: e.message }));
    req.end(body);
  });
}

export interface Serve {
  url: string;
  pid: number;
  /** One keep-alive connection, as the API server reuses its webhook connections. */
  agent: Agent;
  /** Spawn to the first 200 from /readyz. */
  loadMs: number;
  /** VmRSS once ready. */
  rssAfterLoad: number;
  stop: () => Promise<void>;
}

/**
 * `tenant-guard serve --state DIR --config FILE` on a free loopback port;
 * resolves once /readyz answers 200 (the state is loaded before the listener
 * opens), or rejects after `startTimeoutMs` or if the process exits.
 */
export async function startServe(opts: { stateDir: string; configFile: string; certs: { cert: string; key: string; ca: string }; startTimeoutMs: number }): Promise<Serve> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const t0 = performance.now();
  // Info logging to /dev/null: the server still formats one line per decision, as in production.
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'serve', '--port', String(port), '--tls-cert', opts.certs.cert, '--tls-key', opts.certs.key, '--state', opts.stateDir, '--config', opts.configFile, '--shutdown-delay', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const exit = new Promise<void>((done) => child.on('exit', () => ((exited = true), done())));
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: opts.certs.ca });
  const stop = async () => {
    agent.destroy();
    if (exited) return;
    // A review stuck in the model blocks the event loop, so SIGTERM's drain would never run: SIGKILL after a grace.
    child.kill('SIGTERM');
    const killed = await Promise.race([exit.then(() => true), sleep(3000, undefined, { ref: false }).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await exit;
    }
  };
  const probe = new Agent({ keepAlive: false, ca: opts.certs.ca });
  try {
    for (;;) {
      if (exited) throw new Error(`tenant-guard serve exited before it was ready: ${stderr.trim()}`);
      if (performance.now() - t0 > opts.startTimeoutMs) throw new Error(`tenant-guard serve was not ready after ${opts.startTimeoutMs / 1000} s`);
      const r = await call(`${url}/readyz`, probe, undefined, 2000);
      if (r.kind === 'answer' && r.status === 200) break;
      await sleep(20);
    }
  } catch (e) {
    await stop();
    throw e;
  } finally {
    probe.destroy();
  }
  const loadMs = performance.now() - t0;
  return { url, pid: child.pid!, agent, loadMs, rssAfterLoad: memoryMiB(child.pid!)?.rss ?? NaN, stop };
}

export type CheckOutcome = { kind: 'done'; ms: number; exitCode: number | null; peak: number; output: string } | { kind: 'timeout'; peak: number };

/** `tenant-guard check ARGS` end to end (process start, state load, judgement, report), killed after `timeoutMs`. */
export async function timeCheck(args: string[], timeoutMs: number): Promise<CheckOutcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  let peak = 0;
  // VmHWM vanishes with the process: sample it while it runs.
  const sampler = setInterval(() => {
    const m = memoryMiB(child.pid!)?.peak;
    // An exiting process (zombie) has no VmHWM line.
    if (m !== undefined && Number.isFinite(m)) peak = Math.max(peak, m);
  }, 50);
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const timedOut = await Promise.race([exit.then(() => false), sleep(timeoutMs, undefined, { ref: false }).then(() => true)]);
  clearInterval(sampler);
  if (timedOut) {
    child.kill('SIGKILL');
    await exit;
    return { kind: 'timeout', peak };
  }
  return { kind: 'done', ms: performance.now() - t0, exitCode: await exit, peak, output };
}
