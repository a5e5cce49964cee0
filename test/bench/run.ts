// `npm run bench`: load a real `tenant-guard serve` process over TLS on
// loopback with autocannon, one bounded run per scenario, and print
// requests/s, p50/p99 latency and the server's resident memory.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { httpsCall } from '../unit/server/https-client.js';
import { REPO } from '../unit/server/serve-process.js';
import { scenarios } from './scenarios.js';
import { runScaleBench } from './scale/bench.js';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

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

async function rssMiB(url: string, ca: string): Promise<number> {
  const text = (await httpsCall(`${url}/metrics`, { ca })).body;
  const m = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m ? Number(m[1]) / 1024 / 1024 : NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tenant-guard-bench-'));
  // The reference setup's namespaces, so the reference policies belong to their tenants.
  writeFileSync(
    join(dir, 'namespaces.yaml'),
    ['tenant-1', 'tenant-2', 'knative-serving', 'istio-system']
      .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n  labels: {istio-injection: enabled}\n`)
      .join('---\n'),
  );
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  // stdout goes to /dev/null, not a pipe: the server still writes its info line per decision, as in production.
  const child = spawn(
    process.execPath,
    ['--import', join(REPO, 'node_modules/tsx/dist/loader.mjs'), join(REPO, 'src/cli/main.ts'), 'serve', '--port', String(port), '--certs-dir', join(dir, 'certs'),
      '--state', join(dir, 'namespaces.yaml'), '--state', join(REPO, 'test/fixtures/reference'), '--shutdown-delay', '0'],
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
    console.log(`tenant-guard bench: ${url}, ${CONNECTIONS} connections, ${DURATION_S} s per scenario, node ${process.version}`);
    console.log(`RSS after start: ${(await rssMiB(url, ca)).toFixed(1)} MiB\n`);
    const rows: string[][] = [];
    for (const s of scenarios()) {
      const probe = JSON.parse((await httpsCall(`${url}${s.path}`, { ca, body: s.body })).body).response;
      const got = probe.allowed ? (probe.patch ? 'patched' : 'allowed') : 'denied';
      if (got !== s.expect) throw new Error(`${s.name}: expected ${s.expect}, the server answered ${got}: ${probe.status?.message ?? ''}`);
      const r = await autocannon({
        url: `${url}${s.path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: s.body,
        connections: CONNECTIONS,
        duration: DURATION_S,
        tlsOptions: { ca },
      });
      if (r.errors || r.non2xx || r.timeouts) throw new Error(`${s.name}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.timeouts} timeouts`);
      rows.push([s.name, r.requests.average.toFixed(0), `${r.latency.p50} ms`, `${r.latency.p99} ms`, `${(await rssMiB(url, ca)).toFixed(1)} MiB`]);
    }
    const head = ['scenario', 'req/s', 'p50', 'p99', 'RSS after'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
  } finally {
    cleanup();
  }
  if (!(await runScaleBench())) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
