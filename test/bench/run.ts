// `npm run bench`: load a real `tenant-guard serve` process over TLS on
// loopback and print, section by section:
//  - requests/s, p50/p99 and memory per scenario (autocannon, closed loop);
//  - tenant-guard's requests/s as a ratio to a floor server (bare node:https,
//    JSON.parse, a fixed answer: floor-server.ts) on /mutate and /validate,
//    alternating runs so that machine noise hits both alike;
//  - p99 at a fixed rate (open loop, open-loop.ts), and the same while
//    multi-megabyte reviews are sent on other connections.
// Sections are functions of one BenchContext; a new one is one more entry in
// SECTIONS.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { httpsCall } from '../unit/server/https-client.js';
import { REPO } from '../unit/server/serve-process.js';
import { openLoop, percentile, type OpenLoopResult } from './open-loop.js';
import { runScaleBench } from './scale/bench.js';
import { bigReview, floorScenarios, scenarios, type Scenario } from './scenarios.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const DURATION_S = env('BENCH_DURATION', 5);
const CONNECTIONS = env('BENCH_CONNECTIONS', 10);
const FLOOR_CONNECTIONS = env('BENCH_FLOOR_CONNECTIONS', 50);
const ROUNDS = env('BENCH_ROUNDS', 3);
const RATE = env('BENCH_RATE', 1000);
// Unmeasured seconds at the fixed rate before each measured run (the JIT's tiers settle in the first seconds).
const WARMUP_S = env('BENCH_WARMUP', 3);
// The small reviews' rate while big bodies are sent: the big bodies take most of the CPU, so a rate the server can still serve.
const BIG_RATE = env('BENCH_BIG_RATE', 200);
const BIG_CONNECTIONS = env('BENCH_BIG_CONNECTIONS', 2);
const BIG_MIB = env('BENCH_BIG_MIB', 6);
// hostileUploads: slow uploads from other clients (issue 20's memory scenario).
const HOSTILE_CLIENTS = env('BENCH_HOSTILE_CLIENTS', 200);
const HOSTILE_S = env('BENCH_HOSTILE_DURATION', 10);
const HOSTILE_RATE = env('BENCH_HOSTILE_RATE', 200);
const HOSTILE_NICE = env('BENCH_HOSTILE_NICE', 0);
const TSX_LOADER = join(REPO, 'node_modules/tsx/dist/loader.mjs');

/** What every section gets: the running server, its CA, a scratch directory, the settings, and a printer. */
export interface BenchContext {
  url: string;
  ca: string;
  dir: string;
  /** The manifests the server's state was seeded with. */
  statePaths: string[];
  /** The serve process, for its CPU time. */
  pid: number;
  durationS: number;
  rssMiB(): Promise<number>;
  print(text: string): void;
  /** Figures that the closing summary quotes. */
  summary: string[];
}

export type BenchSection = (ctx: BenchContext) => Promise<void>;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function checkAnswer(url: string, ca: string, s: { name: string; body: string; expect: string }): Promise<{ patch?: string }> {
  const probe = JSON.parse((await httpsCall(url, { ca, body: s.body })).body).response;
  const got = probe.allowed ? (probe.patch ? 'patched' : 'allowed') : 'denied';
  if (got !== s.expect) throw new Error(`${s.name}: expected ${s.expect}, the server answered ${got}: ${probe.status?.message ?? ''}`);
  return probe;
}

/** The floor scenarios, /validate's body mutated by the server's own /mutate answer (as the API server does). */
async function commonReviews(ctx: BenchContext): Promise<Scenario[]> {
  const [mutate] = floorScenarios(undefined);
  const { patch } = await checkAnswer(`${ctx.url}${mutate!.path}`, ctx.ca, mutate!);
  return floorScenarios(patch);
}

async function cannon(url: string, ca: string, body: string, connections: number, durationS: number): Promise<Awaited<ReturnType<typeof autocannon>>> {
  const r = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: durationS, tlsOptions: { ca } });
  if (r.errors || r.non2xx || r.timeouts) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
  return r;
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

/** CPU time (user + system) of a process in ms, from /proc (Linux; NaN elsewhere). Clock ticks are 10 ms on Linux. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Requests/s, p50/p99 (autocannon, whole milliseconds) and RSS per scenario. */
const scenarioTable: BenchSection = async (ctx) => {
  const rows: string[][] = [];
  for (const s of scenarios()) {
    await checkAnswer(`${ctx.url}${s.path}`, ctx.ca, s);
    const r = await cannon(`${ctx.url}${s.path}`, ctx.ca, s.body, CONNECTIONS, ctx.durationS);
    rows.push([s.name, r.requests.average.toFixed(0), `${r.latency.p50} ms`, `${r.latency.p99} ms`, `${(await ctx.rssMiB()).toFixed(1)} MiB`]);
  }
  ctx.print(`Scenarios (autocannon, ${CONNECTIONS} connections, ${ctx.durationS} s each):\n${table(['scenario', 'req/s', 'p50', 'p99', 'RSS after'], rows)}`);
};

/** Start a bench server script (through tsx) that prints one line once it listens. */
function startChild(script: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(REPO, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function startFloor(dir: string, port: number): Promise<ChildProcess> {
  return startChild('test/bench/floor-server.ts', [String(port), join(dir, 'certs/tls.crt'), join(dir, 'certs/tls.key')]);
}

/** A server under load: where to send, and the process whose CPU time is read. */
interface LoadedServer {
  name: string;
  url: string;
  pid: number;
}

interface Load {
  requests: number;
  /** CPU time of the server's process over its runs, in ms. */
  cpuMs: number;
}

/**
 * Load each server with the same review: an unmeasured warm-up of each (the
 * first seconds of a fresh process are spent compiling the hot code), then
 * ROUNDS rounds, every other one in reverse order, so that a drift of the
 * machine's speed hits all alike.
 */
async function alternate(ctx: BenchContext, servers: LoadedServer[], s: Scenario): Promise<Map<string, Load>> {
  for (const sv of servers) await cannon(`${sv.url}${s.path}`, ctx.ca, s.body, FLOOR_CONNECTIONS, Math.min(3, ctx.durationS));
  const loads = new Map<string, Load>(servers.map((sv) => [sv.name, { requests: 0, cpuMs: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const sv of round % 2 === 0 ? servers : [...servers].reverse()) {
      const cpu0 = cpuMs(sv.pid);
      const r = await cannon(`${sv.url}${s.path}`, ctx.ca, s.body, FLOOR_CONNECTIONS, ctx.durationS);
      const load = loads.get(sv.name)!;
      load.cpuMs += cpuMs(sv.pid) - cpu0;
      load.requests += r.requests.total;
    }
  }
  return loads;
}

const usPerRequest = (l: Load) => (l.cpuMs * 1000) / l.requests;

/** tenant-guard's requests/s over the floor's, alternating runs of both, per endpoint. */
const floorRatio: BenchSection = async (ctx) => {
  const port = await freePort();
  const floor = await startFloor(ctx.dir, port);
  const servers = [
    { name: 'floor', url: `https://127.0.0.1:${port}`, pid: floor.pid! },
    { name: 'tg', url: ctx.url, pid: ctx.pid },
  ];
  try {
    const rows: string[][] = [];
    for (const s of await commonReviews(ctx)) {
      await checkAnswer(`${ctx.url}${s.path}`, ctx.ca, s);
      const loads = await alternate(ctx, servers, s);
      const tg = loads.get('tg')!;
      const fl = loads.get('floor')!;
      const secs = ROUNDS * ctx.durationS;
      const ratio = tg.requests / fl.requests;
      // CPU per request does not depend on how much of the machine the server got (other load, the client): a second view of the same ratio.
      const tgUs = usPerRequest(tg);
      const flUs = usPerRequest(fl);
      rows.push([s.path, s.name, (tg.requests / secs).toFixed(0), (fl.requests / secs).toFixed(0), `${ratio.toFixed(2)}×`, `${tgUs.toFixed(0)} / ${flUs.toFixed(0)} µs`, `${(flUs / tgUs).toFixed(2)}×`]);
      ctx.summary.push(`floor ratio ${s.path}: ${ratio.toFixed(2)}× requests/s, ${(flUs / tgUs).toFixed(2)}× CPU per request (target ≥ 0.80×)`);
    }
    ctx.print(
      `Ratio to the floor (bare node:https + JSON.parse + fixed answer), ${FLOOR_CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${ctx.durationS} s each:\n` +
        table(['endpoint', 'review', 'tenant-guard req/s', 'floor req/s', 'ratio', 'CPU/request tg / floor', 'floor/tg CPU'], rows),
    );
  } finally {
    floor.kill('SIGTERM');
  }
};

const BREAKDOWN_MODES = ['fixed-allowed', 'fixed-patched', 'judged'] as const;

/**
 * Where a review's CPU goes: the floor, then tenant-guard's own app with the
 * judgment taken out in steps (breakdown-server.ts), all loaded alike in
 * alternating rounds. The differences are the server around the engine, the
 * encoding of the patch, and the judgment.
 */
const costBreakdown: BenchSection = async (ctx) => {
  const servers: { name: string; child: ChildProcess; url: string }[] = [];
  try {
    const floorPort = await freePort();
    servers.push({ name: 'floor', child: await startFloor(ctx.dir, floorPort), url: `https://127.0.0.1:${floorPort}` });
    for (const mode of BREAKDOWN_MODES) {
      const port = await freePort();
      const child = await startChild('test/bench/breakdown-server.ts', [mode, String(port), join(ctx.dir, 'certs'), ...ctx.statePaths]);
      servers.push({ name: mode, child, url: `https://127.0.0.1:${port}` });
    }
    const rows: string[][] = [];
    for (const s of await commonReviews(ctx)) {
      const loads = await alternate(ctx, servers.map((sv) => ({ name: sv.name, url: sv.url, pid: sv.child.pid! })), s);
      const [floor, none, patch, judged] = ['floor', ...BREAKDOWN_MODES].map((name) => usPerRequest(loads.get(name)!)) as [number, number, number, number];
      const d = (a: number, b: number) => `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(0)}`;
      rows.push([s.path, `${floor.toFixed(0)}`, `${none.toFixed(0)} (${(floor / none).toFixed(2)}×)`, `${patch.toFixed(0)} (${(floor / patch).toFixed(2)}×)`, `${judged.toFixed(0)} (${(floor / judged).toFixed(2)}×)`, d(none, floor), d(patch, none), d(judged, patch)]);
      ctx.summary.push(`CPU per review ${s.path}: floor ${floor.toFixed(0)} µs; server around the engine ${d(none, floor)} µs, patch encoding ${d(patch, none)} µs, judgment ${d(judged, patch)} µs`);
    }
    ctx.print(
      `Where a review's CPU goes (µs per request from /proc, ${FLOOR_CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${ctx.durationS} s; tenant-guard's app with the engine replaced ` +
        `by a fixed "allowed", by the engine's first decision returned every time, and the engine itself; in brackets the floor ratio):\n` +
        table(['endpoint', 'floor', 'no judgment, no patch', 'fixed decision + patch', 'judged', 'server', 'patch', 'judgment'], rows),
    );
  } finally {
    for (const sv of servers) sv.child.kill('SIGTERM');
  }
};

const LATENCY_HEAD = ['review', 'sent', 'failed', 'p50', 'p99', 'p99.9', 'max', 'timer delay p99', 'p99 from due'];

function latencyRow(name: string, r: OpenLoopResult): string[] {
  const l = r.latencies;
  return [name, String(r.sent), String(r.failed), fmt(percentile(l, 50)), fmt(percentile(l, 99)), fmt(percentile(l, 99.9)), fmt(l.at(-1) ?? NaN), fmt(percentile(r.dispatchLate, 99)), fmt(percentile(r.fromDue, 99))];
}

/** p99 at a fixed rate, measured from when each request was due. */
const fixedRate: BenchSection = async (ctx) => {
  const rows: string[][] = [];
  for (const s of await commonReviews(ctx)) {
    // Unmeasured warm-up: the first second of a cold process is spent compiling the hot code.
    await openLoop({ url: `${ctx.url}${s.path}`, ca: ctx.ca, body: s.body, rate: RATE, durationS: WARMUP_S, connections: 50 });
    const r = await openLoop({ url: `${ctx.url}${s.path}`, ca: ctx.ca, body: s.body, rate: RATE, durationS: ctx.durationS, connections: 50 });
    rows.push(latencyRow(`${s.path} ${s.name}`, r));
    ctx.summary.push(`p99 at ${RATE} req/s ${s.path}: ${fmt(percentile(r.latencies, 99))}, ${fmt(percentile(r.fromDue, 99))} counted from when each request was due (target ≤ 5 ms)`);
  }
  ctx.print(
    `Fixed rate ${RATE} req/s for ${ctx.durationS} s (open loop on raw keep-alive TLS connections; latency from the dispatch of each request, ` +
      `waits for a free connection included; "timer delay" is the generator's own lateness, not counted; "from due" counts it):\n${table(LATENCY_HEAD, rows)}`,
  );
};

/** The same small reviews at the fixed rate while other connections send multi-megabyte reviews back to back. */
const bigBodies: BenchSection = async (ctx) => {
  const big = bigReview(BIG_MIB);
  const small = (await commonReviews(ctx)).find((s) => s.path === '/validate')!;
  await checkAnswer(`${ctx.url}/validate`, ctx.ca, { name: 'big review', body: big, expect: 'allowed' });
  // The senders run in a worker thread so that their TLS writes do not stall the generator's timer.
  // (tsx registers its loader in the worker before the TypeScript entry is imported.)
  const entry = new URL('./big-senders.ts', import.meta.url).href;
  const senders = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, {
    eval: true,
    workerData: { url: `${ctx.url}/validate`, ca: ctx.ca, connections: BIG_CONNECTIONS, mib: BIG_MIB },
  });
  const messages = (async function* () {
    for (;;) yield (await once(senders, 'message'))[0] as { started?: boolean; done?: number; failed?: number };
  })();
  await messages.next();
  await sleep(300);
  const r = await openLoop({ url: `${ctx.url}${small.path}`, ca: ctx.ca, body: small.body, rate: BIG_RATE, durationS: ctx.durationS, connections: 50 });
  senders.postMessage('stop');
  const { done: bigDone = 0, failed: bigFailed = 0 } = (await messages.next()).value ?? {};
  await senders.terminate();
  ctx.print(
    `Small reviews at ${BIG_RATE} req/s while ${BIG_CONNECTIONS} connections send ${(Buffer.byteLength(big) / 1048576).toFixed(1)} MiB reviews back to back ` +
      `(${bigDone} big reviews answered, ${bigFailed} failed):\n${table(LATENCY_HEAD, [latencyRow(`${small.path} ${small.name}`, r)])}`,
  );
  ctx.summary.push(`p99 of small reviews at ${BIG_RATE} req/s under ${BIG_CONNECTIONS} connections of ${BIG_MIB} MiB bodies: ${fmt(percentile(r.latencies, 99))}`);
};

/** The server's event-loop delay since the last scrape (prom-client's nodejs_eventloop_lag_* gauges, from monitorEventLoopDelay). */
async function lagOf(ctx: BenchContext): Promise<Record<'p50' | 'p99' | 'max', string>> {
  const text = (await httpsCall(`${ctx.url}/metrics`, { ca: ctx.ca })).body;
  const get = (q: string) => {
    const m = new RegExp(`^nodejs_eventloop_lag_${q}_seconds (\\S+)$`, 'm').exec(text);
    return m ? fmt(Number(m[1]) * 1000) : 'n/a';
  };
  return { p50: get('p50'), p99: get('p99'), max: get('max') };
}

/** The serve process's resident memory now, from /proc (Linux), in MiB. */
function procRssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Issue 20's memory scenario: HOSTILE_CLIENTS connections each announce a
 * 6 MiB review and send it at 64 KiB per 100 ms (a refused or cut one comes
 * back a second later), while ordinary reviews arrive at HOSTILE_RATE on
 * connections of their own. Peak RSS (sampled every 50 ms from /proc), p99
 * and failures of the ordinary reviews, and what became of the uploads.
 * Targets: RSS under 300 MiB, p99 ≤ 50 ms, no failed ordinary review.
 * The same ordinary reviews are first measured without the uploads, with the
 * CPU each side used and the server's event-loop delay: on a shared machine
 * the control row says how much of the p99 is the machine's.
 */
const hostileUploads: BenchSection = async (ctx) => {
  const small = (await commonReviews(ctx)).find((s) => s.path === '/validate')!;
  const u = new URL(ctx.url);
  // prom-client resets its event-loop histogram at each scrape: one before a run, one after.
  const measured = async (uploaderPid?: number) => {
    await lagOf(ctx);
    const cpu0 = { server: cpuMs(ctx.pid), bench: cpuMs(process.pid), uploaders: uploaderPid ? cpuMs(uploaderPid) : 0, at: performance.now() };
    const r = await openLoop({ url: `${ctx.url}${small.path}`, ca: ctx.ca, body: small.body, rate: HOSTILE_RATE, durationS: HOSTILE_S, connections: 10 });
    const wall = performance.now() - cpu0.at;
    const share = (ms: number) => `${((ms / wall) * 100).toFixed(0)}%`;
    const lag = await lagOf(ctx);
    const uploaders = uploaderPid ? share(cpuMs(uploaderPid) - cpu0.uploaders) : '-';
    return { r, where: [share(cpuMs(ctx.pid) - cpu0.server), share(cpuMs(process.pid) - cpu0.bench), uploaders, `${lag.p99} / ${lag.max}`, loadavg()[0]!.toFixed(1)] };
  };
  const control = await measured();
  const before = procRssMiB(ctx.pid);
  // The uploaders are a process of their own, at the server's priority by default (BENCH_HOSTILE_NICE): on these
  // 2 cores they take their CPU from the server, a harder case than a cluster where hostile pods have their own.
  const settings = { host: u.hostname, port: Number(u.port), ca: ctx.ca, clients: HOSTILE_CLIENTS, mib: BIG_MIB, chunkKiB: 64, intervalMs: 100 };
  const uploaders = spawn('nice', ['-n', String(HOSTILE_NICE), process.execPath, '--import', TSX_LOADER, fileURLToPath(new URL('./slow-uploaders.ts', import.meta.url)), JSON.stringify(settings)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = (async function* () {
    for (;;) yield (await once(uploaders, 'message'))[0] as Record<string, number>;
  })();
  await messages.next();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, procRssMiB(ctx.pid))), 50);
  await sleep(1000);
  const hostile = await measured(uploaders.pid);
  const r = hostile.r;
  uploaders.send('stop');
  const counts = (await messages.next()).value ?? {};
  clearInterval(sampler);
  if (uploaders.exitCode === null) await once(uploaders, 'exit');
  const refusedMetric = (await httpsCall(`${ctx.url}/metrics`, { ca: ctx.ca })).body
    .split('\n')
    .filter((l) => l.startsWith('tenant_guard_requests_refused_total'))
    .join('; ');
  const p99 = percentile(r.latencies, 99);
  const head = [...LATENCY_HEAD, 'server CPU', 'generator CPU', 'uploaders CPU', 'event-loop delay p99 / max', 'load'];
  ctx.print(
    `Hostile uploads: ${HOSTILE_CLIENTS} clients each announcing a ${BIG_MIB} MiB review and sending it at 64 KiB/100 ms, while ordinary reviews arrive at ${HOSTILE_RATE} req/s for ${HOSTILE_S} s ` +
      `(first without the uploads; CPU in % of one core; the uploaders run at nice ${HOSTILE_NICE}; event-loop delay is the server's):\n` +
      `${table(head, [[...latencyRow(`without uploads: ${small.path}`, control.r), ...control.where], [...latencyRow(`with uploads: ${small.path}`, r), ...hostile.where]])}\n` +
      `RSS: ${before.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB peak (target < 300 MiB); ordinary reviews: ${r.sent} sent, ${r.failed} failed, p99 ${fmt(p99)} (target ≤ 50 ms; ${fmt(percentile(control.r.latencies, 99))} without the uploads)\n` +
      `uploads: ${counts.connections ?? 0} connections, ${counts.refused ?? 0} refused at once (503), ${counts.cut ?? 0} cut as slow (503), ${counts.answered ?? 0} answered, ${counts.closed ?? 0} closed without an answer\n` +
      `server: ${refusedMetric || 'no refusals counted'}`,
  );
  ctx.summary.push(
    `hostile uploads (${HOSTILE_CLIENTS} × ${BIG_MIB} MiB slow): peak RSS ${peak.toFixed(1)} MiB, ordinary reviews p99 ${fmt(p99)} (${fmt(percentile(control.r.latencies, 99))} without the uploads), ${r.failed} failed of ${r.sent}`,
  );
};

/** The sections, in order. Another section (e.g. a scale run) is one more entry here. */
const SECTIONS: BenchSection[] = [scenarioTable, floorRatio, costBreakdown, fixedRate, bigBodies, hostileUploads];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-guard-bench-'));
  // The reference setup's namespaces, so the reference policies belong to their tenants.
  writeFileSync(
    join(dir, 'namespaces.yaml'),
    ['tenant-1', 'tenant-2', 'knative-serving', 'istio-system']
      .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n  labels: {istio-injection: enabled}\n`)
      .join('---\n'),
  );
  const statePaths = [join(dir, 'namespaces.yaml'), join(REPO, 'test/fixtures/reference')];
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  // What `npm start` runs: the compiled dist/ (BENCH_TSX=1: the sources through tsx, without a build).
  const tsx = process.env.BENCH_TSX === '1';
  if (!tsx) execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.build.json')], { stdio: 'inherit' });
  const main = tsx ? ['--import', TSX_LOADER, join(REPO, 'src/cli/main.ts')] : [join(REPO, 'dist/cli/main.js')];
  // Logging as `npm start` does (info); stdout to /dev/null, not a pipe, so writing a line costs what it does in production.
  // BENCH_SERVE_NODE_ARGS: node flags for the server only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where its time goes.
  const nodeArgs = process.env.BENCH_SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...main, 'serve', '--config', join(REPO, 'examples/tenancy.yaml'), '--port', String(port), '--certs-dir', join(dir, 'certs'),
      ...statePaths.flatMap((p) => ['--state', p]), '--shutdown-delay', '0'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const cleanup = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let ca = '';
    for (let i = 0; i < 200; i++) {
      try {
        ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
        if ((await httpsCall(`${url}/readyz`, { ca })).status === 200) break;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    const rssMiB = async () => {
      const text = (await httpsCall(`${url}/metrics`, { ca })).body;
      const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
      return m ? Number(m[1]) / 1024 / 1024 : NaN;
    };
    const ctx: BenchContext = { url, ca, dir, statePaths, pid: child.pid!, durationS: DURATION_S, rssMiB, print: (text) => console.log(`${text}\n`), summary: [] };
    ctx.print(`tenant-guard bench: ${url} (${tsx ? 'src through tsx' : 'dist'}), node ${process.version}, ${DURATION_S} s per run, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs\nRSS after start: ${(await rssMiB()).toFixed(1)} MiB`);
    const only = process.env.BENCH_ONLY?.split(',');
    for (const section of SECTIONS) if (!only || only.includes(section.name)) await section(ctx);
    // Open-loop latencies at a rate the machine cannot serve measure the queue, not the server: the load average says how busy it was.
    ctx.print(`Summary (load average ${loadavg().map((l) => l.toFixed(1)).join(', ')} on ${cpus().length} CPUs):\n${ctx.summary.map((l) => `- ${l}`).join('\n')}`);
  } finally {
    cleanup();
  }
  // The scale section starts its own servers, one per generated state.
  const only = process.env.BENCH_ONLY?.split(',');
  if ((!only || only.includes('scale')) && !(await runScaleBench())) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
