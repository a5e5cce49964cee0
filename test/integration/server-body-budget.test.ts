// The memory budget of request bodies over real TLS: beyond it requests are
// refused at once with 503 TG_ERR_OVERLOADED, slow bodies beyond their cap
// are cut, and ordinary reviews on another connection keep being answered.
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { Registry } from 'prom-client';
import { createCertificateAuthority, createServingCertificate } from '../../src/certs/generate.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import { buildApp } from '../../src/server/app.js';
import type { BodyBudgetLimits } from '../../src/server/body-budget.js';
import { staticConfig } from '../../src/server/config-provider.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const ca = createCertificateAuthority({ commonName: 'budget CA', days: 2 });
const pair = createServingCertificate({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });
const small = JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)));
const KiB = 1024;

async function server(t: Test, bodyBudget: Partial<BodyBudgetLimits> = { totalBytes: 1024 * KiB, bigTotalBytes: 768 * KiB, bigBytes: 256 * KiB, maxSlowBodies: 1, slowAfterMs: 300 }) {
  const log = capturingLogger();
  const registry = new Registry();
  const app = buildApp({
    config: staticConfig(loadDefaultTenancyConfig()),
    state: new MemoryStore(),
    logger: log.logger,
    registry,
    tls: { cert: pair.certPem, key: pair.keyPem },
    bodyBudget,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  return { app, log, registry, port, url: `https://127.0.0.1:${port}` };
}

/** Headers and the first bytes of a body that then stops: a slow upload. */
async function slowUpload(port: number, headers: string, first = '{"apiVersion":'): Promise<{ socket: TLSSocket; answer: Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const answer = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(text));
    socket.on('data', () => {
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) resolve(text);
    });
  });
  socket.write(`POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n${headers}\r\n${first}`);
  return { socket, answer };
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

t.test('beyond the byte budget: refused at once, small reviews still answered, the budget freed after', async (t) => {
  const s = await server(t);
  const uploads = [];
  for (let i = 0; i < 2; i++) uploads.push(await slowUpload(s.port, `content-length: ${300 * KiB}\r\n`));
  await sleep(50);
  const third = await slowUpload(s.port, `content-length: ${300 * KiB}\r\n`);
  const refused = await Promise.race([third.answer, sleep(2000).then(() => 'no answer')]);
  t.equal(statusOf(refused), 503, 'the third big upload is refused before its body is read');
  t.match(refused, /TG_ERR_OVERLOADED/);
  t.match(refused, /retry-after: 1/i);
  t.match(refused, /connection: close/i);

  const ok = await httpsCall(`${s.url}/validate`, { ca: ca.certPem, body: small });
  t.equal(ok.status, 200, 'an ordinary review on another connection is answered meanwhile');
  t.equal(JSON.parse(ok.body).response.allowed, true);

  for (const u of uploads) u.socket.destroy();
  await sleep(100);
  const after = await slowUpload(s.port, `content-length: ${300 * KiB}\r\n`);
  await sleep(100);
  t.notOk(after.socket.destroyed, 'the reservation of a closed connection is released: a new big upload is admitted');
  after.socket.destroy();

  const metrics = await s.registry.getSingleMetricAsString('tenant_guard_requests_refused_total');
  t.match(metrics, /reason="body_budget"\} 1/);
  t.equal(s.log.lines().filter((l) => l.errorCode === 'TG_ERR_OVERLOADED').length, 1, 'logged once');
});

t.test('a chunked body that grows past the budget is cut with a 503', async (t) => {
  const s = await server(t);
  const up = await slowUpload(s.port, 'transfer-encoding: chunked\r\n', '');
  const chunk = 'x'.repeat(64 * KiB);
  for (let i = 0; i < 20 && !up.socket.destroyed; i++) {
    up.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    await sleep(5);
  }
  const raw = await Promise.race([up.answer, sleep(2000).then(() => 'no answer')]);
  t.equal(statusOf(raw), 503);
  t.match(raw, /TG_ERR_OVERLOADED/);
});

t.test('slow bodies beyond their cap: the newest is cut, the oldest keeps going', async (t) => {
  const s = await server(t);
  const older = await slowUpload(s.port, `content-length: ${Buffer.byteLength(small)}\r\n`, small.slice(0, 10));
  await sleep(20);
  const newer = await slowUpload(s.port, `content-length: ${Buffer.byteLength(small)}\r\n`, small.slice(0, 10));
  const raw = await Promise.race([newer.answer, sleep(3000).then(() => 'no answer')]);
  t.equal(statusOf(raw), 503, 'the newer slow body is cut');
  t.match(raw, /still arriving/);
  t.notOk(older.socket.destroyed, 'the older one is kept');
  older.socket.write(small.slice(10));
  const done = await Promise.race([older.answer, sleep(3000).then(() => 'no answer')]);
  t.equal(statusOf(done), 200, 'and answered once it arrives');
  older.socket.destroy();
  t.match(await s.registry.getSingleMetricAsString('tenant_guard_requests_refused_total'), /reason="slow_bodies"\} 1/);
});

t.test('every way a request ends frees its reservation at once, without the sweep', async (t) => {
  // A sweep every 150 s: within the test only the handler's own releases can free anything.
  const { registry, port } = await server(t, { totalBytes: 16 * 1024 * KiB, bigTotalBytes: 12 * 1024 * KiB, bigBytes: 256 * KiB, maxSlowBodies: 10, slowAfterMs: 600_000 });
  const url = `https://127.0.0.1:${port}/validate`;
  const gauges = async () => {
    const text = await registry.metrics();
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { bytes: read('tenant_guard_request_body_bytes_in_flight'), bodies: read('tenant_guard_request_bodies_in_flight') };
  };
  const freed = async (what: string) => {
    let g = await gauges();
    for (let i = 0; i < 50 && (g.bytes !== 0 || g.bodies !== 0); i++) g = (await sleep(20), await gauges());
    t.same(g, { bytes: 0, bodies: 0 }, `${what}: nothing left reserved`);
  };

  const held = await slowUpload(port, `content-length: ${300 * KiB}\r\n`);
  await sleep(50);
  t.same(await gauges(), { bytes: 300 * KiB, bodies: 1 }, 'a body on its way holds its declared length');
  held.socket.destroy();
  await freed('a client gone in the middle of its body');

  const call = (body: string) => httpsCall(url, { ca: ca.certPem, body });
  t.equal((await call(small)).status, 200);
  await freed('an answered review');
  t.equal((await call('{"not json')).status, 400);
  await freed('a body that is not JSON');
  t.equal((await call('{"kind":"Pod"}')).status, 400);
  await freed('JSON that is no AdmissionReview');
  const review = reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)) as { request: { object: { metadata: Record<string, unknown> } } };
  review.request.object.metadata.annotations = { pad: 'x'.repeat(400 * KiB) };
  const big = await call(JSON.stringify(review));
  t.equal(big.status, 200, 'a big review is judged in the lane');
  await freed('a big review');
  t.equal((await call(`{"pad":"${'x'.repeat(8 * 1024 * KiB)}"}`)).status, 413);
  await freed('a body over the limit');
  const short = await slowUpload(port, 'content-length: 100\r\n', '{"apiVersion":"admission.k8s.io/v1"}');
  await sleep(50);
  short.socket.end();
  await Promise.race([short.answer, sleep(2000)]);
  await freed('a body shorter than its content-length, the connection half-closed');
});
