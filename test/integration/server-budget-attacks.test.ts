// Client behaviours against the memory budget of request bodies, over real
// TLS: a chunked body must stay within the same shares as one with a
// content-length (or a few stalled chunked uploads refuse every review), and
// a body whose client left while it waits in the serial lane still holds its
// memory, so it keeps its reservation until it is judged.
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { createCertificateAuthority, createServingCertificate } from '../../src/certs/generate.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import { evaluate } from '../../src/engine/index.js';
import type { BodyBudgetLimits } from '../../src/server/body-budget.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { staticConfig } from '../../src/server/config-provider.js';
import { createServerMetrics } from '../../src/server/metrics.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const KiB = 1024;
const ca = createCertificateAuthority({ commonName: 'budget attacks CA', days: 2 });
const pair = createServingCertificate({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });
const small = JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)));

async function server(t: Test, bodyBudget: Partial<BodyBudgetLimits>, extra: Partial<AppOptions> = {}) {
  const registry = new Registry();
  const metrics = createServerMetrics(registry);
  const app = buildApp({
    config: staticConfig(loadDefaultTenancyConfig()),
    state: new MemoryStore(),
    logger: capturingLogger().logger,
    metrics,
    tls: { cert: pair.certPem, key: pair.keyPem },
    bodyBudget,
    ...extra,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  return { registry, metrics, port, url: `https://127.0.0.1:${port}/validate` };
}

async function open(port: number): Promise<{ socket: TLSSocket; text: () => string }> {
  const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  return { socket, text: () => text };
}

const head = (extra: string) => `POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n${extra}\r\n`;
const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

/** A chunked upload of `bytes` that then stalls (no last chunk); resolves once the server took the bytes or answered. */
async function stalledChunked(port: number, bytes: number) {
  const c = await open(port);
  c.socket.write(head('transfer-encoding: chunked\r\n'));
  const chunk = 'x'.repeat(16 * KiB);
  for (let sent = 0; sent < bytes && !c.socket.destroyed && c.text() === ''; sent += chunk.length) {
    c.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await sleep(1);
  }
  await sleep(100);
  return c;
}

const BUDGET = { totalBytes: 1024 * KiB, bigTotalBytes: 768 * KiB, bigBytes: 256 * KiB, maxSlowBodies: 10, slowAfterMs: 600_000 };

t.test('a stalled chunked upload cannot take the small bodies\' share: ordinary reviews are still answered', async (t) => {
  const s = await server(t, BUDGET);
  const up = await stalledChunked(s.port, 900 * KiB);
  const ok = await httpsCall(s.url, { ca: ca.certPem, body: small });
  t.equal(ok.status, 200, 'a small review on another connection is judged, not refused for the budget');
  t.equal(statusOf(up.text()), 503, 'the chunked upload is the one cut, once it passes the big share');
  t.match(up.text(), /TG_ERR_OVERLOADED/);
  up.socket.destroy();
});

t.test('two stalled chunked uploads share the big share like two declared ones', async (t) => {
  const s = await server(t, BUDGET);
  const first = await stalledChunked(s.port, 500 * KiB);
  t.equal(first.text(), '', 'the first fits the big share and keeps going');
  const second = await stalledChunked(s.port, 500 * KiB);
  t.equal(statusOf(second.text()), 503, 'the second would pass the big share (1000 > 768 KiB): cut');
  t.equal((await httpsCall(s.url, { ca: ca.certPem, body: small })).status, 200);
  t.equal(s.metrics.bodyBudget.current?.bytesInFlight, 512 * KiB, 'what is left reserved is the first upload\'s 32 chunks of 16 KiB');
  first.socket.destroy();
  second.socket.destroy();
});

t.test('a body waiting in the lane keeps its reservation after its client left, until it is judged', async (t) => {
  // The sweep runs every 100 ms; the first review's judging takes 300 ms and the lane then rests as long, so the
  // second body waits in the lane across several sweeps after its client has gone.
  const review = reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)) as { request: { object: { metadata: Record<string, unknown> } } };
  review.request.object.metadata.annotations = { pad: 'x'.repeat(300 * KiB) };
  const big = JSON.stringify(review);
  const seen: number[] = [];
  let calls = 0;
  let s: Awaited<ReturnType<typeof server>> | undefined;
  s = await server(t, { ...BUDGET, slowAfterMs: 400 }, {
    evaluate: (...a: Parameters<typeof evaluate>) => {
      seen.push(s!.metrics.bodyBudget.current!.bytesInFlight);
      if (calls++ === 0) for (const until = performance.now() + 300; performance.now() < until; );
      return evaluate(...a);
    },
  });
  const first = await open(s.port);
  first.socket.write(head(`content-length: ${Buffer.byteLength(big)}\r\n`) + big);
  while (calls === 0) await sleep(5);
  // The first review has been judged; the lane now rests ~300 ms. The second body arrives whole, then its client leaves.
  const second = await open(s.port);
  second.socket.write(head(`content-length: ${Buffer.byteLength(big)}\r\n`) + big);
  await sleep(60);
  second.socket.destroy();
  for (let i = 0; i < 200 && calls < 2; i++) await sleep(10);
  t.equal(calls, 2, 'the second review was judged');
  t.equal(seen[1], Buffer.byteLength(big), 'its bytes were still reserved while it was judged, its client long gone');
  for (let i = 0; i < 50 && s.metrics.bodyBudget.current!.bodiesInFlight > 0; i++) await sleep(20);
  t.equal(s.metrics.bodyBudget.current!.bytesInFlight, 0, 'and freed once it was');
  first.socket.destroy();
});

t.test('uploads that announce a small body and send nothing cannot keep the small share full: they are cut when a review needs room', async (t) => {
  // Small share: 1024 - 768 = 256 KiB, filled by eight stalled uploads of 32 KiB.
  const s = await server(t, { ...BUDGET, stalledAfterMs: 200 });
  const stalled = [];
  for (let i = 0; i < 8; i++) {
    const c = await open(s.port);
    c.socket.write(head(`content-length: ${32 * KiB}\r\n`));
    stalled.push(c);
  }
  await sleep(50);
  const early = await httpsCall(s.url, { ca: ca.certPem, body: small });
  t.equal(early.status, 503, 'while they are young nothing is judged stalled: the review is refused');
  await sleep(250);
  for (let i = 0; i < 5; i++) {
    const ok = await httpsCall(s.url, { ca: ca.certPem, body: small });
    t.equal(ok.status, 200, `review ${i + 1} is judged: a stalled upload was cut to make room`);
  }
  await sleep(50);
  const cut = stalled.filter((c) => statusOf(c.text()) === 503);
  t.ok(cut.length >= 1 && cut.length <= 5, `only as many uploads are cut as the reviews needed (${cut.length} of 8)`);
  t.match(cut[0]!.text(), /TG_ERR_OVERLOADED[\s\S]*still arriving 200 ms after the request started, too slowly/);
  t.match(await s.registry.getSingleMetricAsString('tenant_guard_requests_refused_total'), new RegExp(`reason="stalled_body"\\} ${cut.length}`));
  for (const c of stalled) c.socket.destroy();
});

t.test('a small upload trickling above the minimum rate past the grace is cut for a review (the API server sends small bodies whole)', async (t) => {
  const s = await server(t, { ...BUDGET, stalledAfterMs: 100 });
  // Nearly all of the small share (256 KiB), sent at about 160 KiB/s (above the 64 KiB/s minimum). By the rate
  // alone such uploads held the small share: 64 of them at 70 KiB/s (4.4 MiB/s) refused 61 of 64 reviews.
  const c = await open(s.port);
  c.socket.write(head(`content-length: ${256 * KiB - 100}\r\n`));
  const chunk = 'x'.repeat(8 * KiB);
  let sent = 0;
  const feeder = setInterval(() => {
    if (sent + chunk.length < 250 * KiB && !c.socket.destroyed) (c.socket.write(chunk), (sent += chunk.length));
  }, 50);
  t.teardown(() => clearInterval(feeder));
  await sleep(400);
  const ok = await httpsCall(s.url, { ca: ca.certPem, body: small });
  t.equal(ok.status, 200, 'the review is judged');
  await sleep(50);
  t.equal(statusOf(c.text()), 503, 'the trickling upload was cut to make room');
  clearInterval(feeder);
  c.socket.destroy();
});

t.test('a big upload arriving at a steady rate is never cut for a big newcomer; the newcomer is refused instead', async (t) => {
  const s = await server(t, { ...BUDGET, stalledAfterMs: 100 });
  // Nearly all of the big share (768 KiB), sent at about 160 KiB/s (above the 64 KiB/s minimum).
  const c = await open(s.port);
  c.socket.write(head(`content-length: ${700 * KiB}\r\n`));
  const chunk = 'x'.repeat(8 * KiB);
  let sent = 0;
  const feeder = setInterval(() => {
    if (sent + chunk.length < 690 * KiB) (c.socket.write(chunk), (sent += chunk.length));
  }, 50);
  t.teardown(() => clearInterval(feeder));
  await sleep(400);
  const newcomer = await open(s.port);
  newcomer.socket.write(head(`content-length: ${300 * KiB}\r\n`));
  for (let i = 0; i < 50 && newcomer.text() === ''; i++) await sleep(10);
  t.equal(statusOf(newcomer.text()), 503, 'no room in the big share, and the upload in the way is not stalled');
  t.equal(c.text(), '', 'the steady upload was not cut');
  clearInterval(feeder);
  c.socket.destroy();
  newcomer.socket.destroy();
});

t.test('a legitimate big body whose bytes wait behind a long judgement is not cut as stalled: the stall is the server\'s', async (t) => {
  const padded = (kib: number) => {
    const r = reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)) as { request: { object: { metadata: Record<string, unknown> } } };
    r.request.object.metadata.annotations = { pad: 'x'.repeat(kib * KiB) };
    return JSON.stringify(r);
  };
  let calls = 0;
  const s = await server(t, { ...BUDGET, stalledAfterMs: 500 }, {
    evaluate: (...a: Parameters<typeof evaluate>) => {
      // The first judgement holds the thread 700 ms, past the 500 ms grace.
      if (calls++ === 0) for (const until = performance.now() + 700; performance.now() < until; );
      return evaluate(...a);
    },
  });
  const a = padded(300);
  const b = padded(400);
  const [A, B, C] = [await open(s.port), await open(s.port), await open(s.port)];
  B.socket.write(head(`content-length: ${Buffer.byteLength(b)}\r\n`) + b.slice(0, 1024));
  await sleep(50);
  A.socket.write(head(`content-length: ${Buffer.byteLength(a)}\r\n`) + a);
  while (calls === 0) await sleep(1);
  // While A is judged, a big newcomer that does not fit (400 + 450 > 768 KiB) and then the rest of B arrive: the
  // server reads the newcomer first, with B's bytes still waiting in its socket.
  C.socket.write(head(`content-length: ${450 * KiB}\r\n`));
  await sleep(20);
  B.socket.write(b.slice(1024));
  for (let i = 0; i < 300 && (B.text() === '' || C.text() === ''); i++) await sleep(10);
  t.equal(statusOf(A.text()), 200);
  t.equal(statusOf(B.text()), 200, 'B is judged: of its time in flight only ~100 ms were the server\'s to read it');
  t.equal(statusOf(C.text()), 503, 'the newcomer is refused instead');
  for (const c of [A, B, C]) c.socket.destroy();
});
