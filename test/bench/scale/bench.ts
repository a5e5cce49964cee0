// The scale scenario of `npm run bench` (issue 8): per size, a generated
// reference-shaped state, a real `tenant-guard serve` (dist/, TLS, loopback)
// timed to readiness and read for memory, four kinds of tenant-admin review
// timed client-side, and `tenant-guard check` of one policy end to end.
// Every wait is bounded, so a slow model shows up as "timeout", not a hang.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { actingTenant, decisions } from './decisions.js';
import { measure, type Limits } from './measure.js';
import { ensureBuilt, makeCerts, memoryMiB, startServe, timeCheck, type Serve } from './processes.js';
import { figuresTable, targetsTable, type CheckFigure, type SizeResult } from './report.js';
import { ACTIVATOR_SHAPES, adminOf, allObjects, generateScaleState, writeScaleState, type ActivatorShape } from './state.js';

export interface ScaleOptions {
  tenants: number[];
  /** The activator policy shapes to generate each size with (state.ts ActivatorShape). */
  shapes: ActivatorShape[];
  limits: Limits;
  checkTimeoutMs: number;
  startTimeoutMs: number;
  /** Keep the generated states (and print where) instead of deleting them. */
  keep: boolean;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return n;
}

/**
 * TG_BENCH_TENANTS (default 10,1000,2000), TG_BENCH_SHAPES (activator
 * policy shapes, default hardened,seed), TG_BENCH_REQUESTS per decision
 * (200), TG_BENCH_BUDGET_S per decision (10), TG_BENCH_TIMEOUT_S per request
 * (30: the API server's maximum webhook timeoutSeconds, beyond which no
 * cluster could wait for the answer), TG_BENCH_CHECK_TIMEOUT_S (30),
 * TG_BENCH_START_TIMEOUT_S (120), TG_BENCH_KEEP=1.
 */
export function scaleOptions(env: NodeJS.ProcessEnv): ScaleOptions {
  const list = env.TG_BENCH_TENANTS?.trim() || '10,1000,2000';
  const shapeList = env.TG_BENCH_SHAPES?.trim() || ACTIVATOR_SHAPES.join(',');
  const shapes = shapeList.split(',').map((s) => s.trim());
  const unknown = shapes.filter((s) => !(ACTIVATOR_SHAPES as readonly string[]).includes(s));
  if (unknown.length > 0 || shapes.length === 0) throw new Error(`TG_BENCH_SHAPES must be a comma-separated list of ${ACTIVATOR_SHAPES.join(', ')}; not "${shapeList}"`);
  const tenants = list.split(',').map((s) => Number(s.trim()));
  if (tenants.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`TG_BENCH_TENANTS must be a comma-separated list of tenant counts of at least 2, e.g. 10,100; not "${list}"`);
  return {
    tenants: [...new Set(tenants)].sort((a, b) => a - b),
    shapes: [...new Set(shapes)] as ActivatorShape[],
    limits: {
      requests: Math.round(positive(env, 'TG_BENCH_REQUESTS', 200)),
      budgetMs: positive(env, 'TG_BENCH_BUDGET_S', 10) * 1000,
      timeoutMs: positive(env, 'TG_BENCH_TIMEOUT_S', 30) * 1000,
    },
    checkTimeoutMs: positive(env, 'TG_BENCH_CHECK_TIMEOUT_S', 30) * 1000,
    startTimeoutMs: positive(env, 'TG_BENCH_START_TIMEOUT_S', 120) * 1000,
    keep: env.TG_BENCH_KEEP === '1',
  };
}

async function measureSize(tenants: number, shape: ActivatorShape, root: string, certs: ReturnType<typeof makeCerts>, opts: ScaleOptions, log: (s: string) => void): Promise<SizeResult> {
  const dir = join(root, `tenants-${tenants}-${shape}`);
  const state = generateScaleState(tenants, shape);
  const { stateDir, configFile } = writeScaleState(state, dir);
  const objects = allObjects(state);
  const result: SizeResult = {
    tenants,
    shape,
    namespaces: state.namespaces.length,
    policies: objects.filter((o) => o.kind === 'AuthorizationPolicy').length,
    objects: objects.length,
    loadMs: NaN,
    rssAfterLoad: NaN,
    peakRss: NaN,
    decisions: [],
    check: { kind: 'skipped' },
  };
  log(`${tenants} tenants, ${shape} activator policies: ${result.namespaces} namespaces, ${result.policies} AuthorizationPolicies, ${result.objects} objects in ${stateDir}`);
  const serveOpts = { stateDir, configFile, certs, startTimeoutMs: opts.startTimeoutMs };
  const notePeak = (s: Serve) => {
    const m = memoryMiB(s.pid);
    if (m && Number.isFinite(m.peak)) result.peakRss = Number.isFinite(result.peakRss) ? Math.max(result.peakRss, m.peak) : m.peak;
  };
  let serve: Serve | undefined;
  try {
    serve = await startServe(serveOpts);
    result.loadMs = serve.loadMs;
    result.rssAfterLoad = serve.rssAfterLoad;
    log(`  serve ready in ${(serve.loadMs / 1000).toFixed(1)} s, RSS ${serve.rssAfterLoad.toFixed(0)} MiB`);
    for (const d of decisions(tenants)) {
      if (!serve) {
        serve = await startServe(serveOpts);
        log(`  serve restarted (ready in ${(serve.loadMs / 1000).toFixed(1)} s)`);
      }
      const r = await measure(serve, d, opts.limits);
      result.decisions.push({ decision: d, result: r });
      log(`  ${d.name}: ${r.kind === 'ok' ? `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, n=${r.n}${r.cpuMs === undefined ? '' : `, server CPU ${r.cpuMs.toFixed(2)} ms/review`}` : r.kind === 'timeout' ? 'timeout' : `${r.kind}: ${r.message}`}`);
      notePeak(serve);
      // The server is single-threaded: a review still running would hold up every later one.
      if (r.kind === 'timeout' || r.kind === 'error') {
        await serve.stop();
        serve = undefined;
      }
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    log(`  ${result.error}`);
  } finally {
    if (serve) {
      notePeak(serve);
      await serve.stop();
    }
  }

  const t = actingTenant(tenants);
  const ap = decisions(tenants).find((d) => d.key === 'ap-benign')!;
  const apFile = join(dir, 'ap-benign.yaml');
  writeFileSync(apFile, stringify(ap.object, { aliasDuplicateObjects: false }));
  const c = await timeCheck(['-f', apFile, '--state', stateDir, '--config', configFile, '--as', adminOf(t).user, '--as-group', adminOf(t).group], opts.checkTimeoutMs);
  const check: CheckFigure =
    c.kind === 'timeout'
      ? { kind: 'timeout', afterMs: opts.checkTimeoutMs, peak: c.peak }
      : { kind: 'done', ms: c.ms, peak: c.peak, ok: c.exitCode === 0, note: c.exitCode === 0 ? '' : `exit ${c.exitCode}: ${c.output.trim().split('\n')[0]}` };
  result.check = check;
  log(`  check -f <one AP>: ${c.kind === 'timeout' ? 'timeout' : `${(c.ms / 1000).toFixed(1)} s, exit ${c.exitCode}`}`);
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Runs the scale scenario and prints its tables; false when a review got a wrong answer or a size could not be measured. */
export async function runScaleBench(env: NodeJS.ProcessEnv = process.env, log: (s: string) => void = (s) => console.log(s)): Promise<boolean> {
  const opts = scaleOptions(env);
  ensureBuilt(log);
  const root = mkdtempSync(join(tmpdir(), 'tenant-guard-scale-'));
  const t0 = performance.now();
  const sizes: SizeResult[] = [];
  try {
    const certs = makeCerts(join(root, 'certs'));
    log(
      `\nscale bench: tenants ${opts.tenants.join(', ')}; activator policies ${opts.shapes.join(', ')}; per decision up to ${opts.limits.requests} sequential requests or ${opts.limits.budgetMs / 1000} s, ` +
        `${opts.limits.timeoutMs / 1000} s per request; check capped at ${opts.checkTimeoutMs / 1000} s; node ${process.version}`,
    );
    for (const shape of opts.shapes) for (const n of opts.tenants) sizes.push(await measureSize(n, shape, root, certs, opts, log));
  } finally {
    if (opts.keep) log(`states kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  log(`\nscale: per-decision latency is client-side over one keep-alive TLS connection (p50 / p99, n requests after a first one that checks the answer; CPU: the server's CPU time per review, from /proc, which a loaded machine does not inflate)\n`);
  log(figuresTable(sizes));
  log('');
  log(targetsTable(sizes));
  log(`\nscale bench took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const wrong = sizes.some(
    (s) => s.error || s.decisions.some((d) => d.result.kind === 'wrong' || d.result.kind === 'error' || d.result.kind === 'budget') || (s.check.kind === 'done' && !s.check.ok),
  );
  return !wrong;
}
