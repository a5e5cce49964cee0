// The edges of the HTTPS server over real TLS: oversized bodies, the
// whole-request timeout, the graceful keep-alive drain on SIGTERM, and a bad
// config written again after a restore.
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import t, { type Test } from 'tap';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { BODY_LIMIT_BYTES, REQUEST_TIMEOUT_MS } from '../../src/server/limits.js';
import { startWebhookServer, type ServeOptions } from '../../src/server/run.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';
import { spawnServe } from '../unit/server/serve-process.js';

const review = () => JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)));

async function start(t: Test, over: Partial<ServeOptions> = {}) {
  const dir = t.testdir({ 'tenancy.yaml': readFileSync(DEFAULT_CONFIG_PATH, 'utf8') });
  const log = capturingLogger();
  const s = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: 'tenancy.yaml', statePaths: [], shutdownDelayMs: 0, filePollMs: 100, ...over },
    { logger: log.logger, cwd: dir },
  );
  t.teardown(() => s.shutdown('test end'));
  return { s, dir, log, ca: readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8') };
}

/** POST `size` bytes in 64 KiB chunks, as a client that keeps sending while the server answers. */
function postLarge(url: string, ca: string, size: number, chunked: boolean): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (!chunked) headers['content-length'] = size;
    const req = request(url, { method: 'POST', ca, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const prefix = Buffer.from(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"big-1","object":{"data":"`);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (sent < size) {
        const piece = sent === 0 ? prefix : chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

t.test('a body over 7 MiB gets a 413 AdmissionReview, not a reset; the server stays healthy', async (t) => {
  const { s, ca } = await start(t);
  for (const chunked of [false, true]) {
    const r = await postLarge(`${s.url}/validate`, ca, BODY_LIMIT_BYTES + 1024 * 1024, chunked);
    t.equal(r.status, 413, chunked ? 'chunked' : 'content-length');
    const body = JSON.parse(r.body);
    t.match(body, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'big-1', allowed: false, status: { code: 413, reason: 'RequestEntityTooLarge', message: /TG_ERR_REVIEW_INVALID: .*larger than 7340032 bytes/ } },
      code: 'TG_ERR_REVIEW_INVALID',
    });
  }
  // The API server adds ?timeout=<n>s to the configured path.
  const next = await httpsCall(`${s.url}/validate?timeout=5s`, { ca, body: review() });
  t.equal(next.status, 200, 'the next review on a new connection is answered');
  t.equal(JSON.parse(next.body).response.allowed, true);
  t.match((await httpsCall(`${s.url}/metrics`, { ca })).body, /tenant_guard_admission_requests_total\{endpoint="validate",kind="unknown",operation="unknown",decision="invalid"\} 2/);
});

/** Open a TLS connection, write `parts` with `gapMs` between them, and resolve with what the server sent and when it closed. */
function slowClient(port: number, ca: string, parts: string[], gapMs: number): Promise<{ closedAfterMs: number; received: string; sentAll: boolean }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let received = '';
    let sentAll = false;
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, async () => {
      for (const p of parts) {
        if (socket.destroyed || socket.writableEnded) return;
        socket.write(p);
        await sleep(gapMs);
      }
      sentAll = true;
    });
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ closedAfterMs: Date.now() - started, received, sentAll }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not close the connection within 10 s'));
    }, 10_000).unref();
  });
}

t.test('the whole-request timeout cuts slow headers, slow bodies and chunked bodies that never end', async (t) => {
  const { s, ca } = await start(t, { requestTimeoutMs: 1000 });
  const port = s.address.port;
  const head = 'POST /validate HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n';
  // Headers one line every 300 ms, forever: no single gap is long, the request as a whole is.
  const slowHeaders = await slowClient(port, ca, [head, ...Array.from({ length: 40 }, (_, i) => `x-h${i}: v\r\n`)], 300);
  // A body of 1,000 bytes sent 10 bytes every 100 ms would take 10 s.
  const slowBody = await slowClient(port, ca, [`${head}content-length: 1000\r\n\r\n`, ...Array.from({ length: 100 }, () => 'aaaaaaaaaa')], 100);
  // A chunked body that sends a chunk now and then and never its last one.
  const endless = await slowClient(port, ca, [`${head}transfer-encoding: chunked\r\n\r\n`, ...Array.from({ length: 100 }, () => '1\r\na\r\n')], 100);
  for (const [name, r] of Object.entries({ slowHeaders, slowBody, endless })) {
    t.notOk(r.sentAll, `${name}: cut before the client was done`);
    t.ok(r.closedAfterMs < 5000, `${name}: closed after ${r.closedAfterMs} ms (timeout 1 s)`);
    t.ok(r.closedAfterMs >= 900, `${name}: not before the timeout`);
    if (r.received) t.match(r.received, /^HTTP\/1\.1 408/, `${name}: answered 408 Request Timeout`);
  }
  t.equal((await httpsCall(`${s.url}/healthz`, { ca })).status, 200, 'the server is fine');
});

t.test('the default request timeout is 30 s for headers and body, checked every second', async (t) => {
  const { s } = await start(t);
  const server = s.app.server as unknown as { requestTimeout: number; headersTimeout: number };
  t.equal(REQUEST_TIMEOUT_MS, 30_000);
  t.equal(server.requestTimeout, 30_000);
  t.equal(server.headersTimeout, 30_000, 'slow headers are held to the same 30 s');
});

t.test('SIGTERM under keep-alive load: the drain closes connections gracefully, 0 resets', async (t) => {
  const cwd = t.testdir({});
  const p = await spawnServe(['--config', DEFAULT_CONFIG_PATH, '--shutdown-delay', '1500ms'], cwd);
  t.teardown(() => p.child.kill('SIGKILL'));
  const ca = readFileSync(join(cwd, 'certs', 'ca.crt'), 'utf8');
  const body = review();
  const errors: Record<string, number> = {};
  let ok = 0;
  let okDraining = 0;
  let closeHeaders = 0;
  let refused = false;
  let draining = false;
  // Kubernetes takes the terminating pod out of the Service's endpoints a moment after SIGTERM (well within
  // --shutdown-delay): from then on clients open no new connection to it, but keep using the ones they have.
  let endpointsRemoved = false;
  const hasConnection = (agent: Agent) => Object.values(agent.freeSockets).some((list) => (list?.length ?? 0) > 0);
  const loops = Array.from({ length: 16 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (!refused && !(endpointsRemoved && !hasConnection(agent))) {
      try {
        const res = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
          const req = request(`${p.url}/validate`, { method: 'POST', ca, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
            r.resume();
            r.on('end', () => resolve({ status: r.statusCode ?? 0, connection: r.headers.connection }));
          });
          req.on('error', reject);
          req.end(body);
        });
        if (res.status === 200) ok++;
        if (draining && res.status === 200) okDraining++;
        if (res.connection === 'close') closeHeaders++;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        // Once the listener is closed, a new connection is refused: what a client of a terminated pod sees, not a reset.
        if (code === 'ECONNREFUSED') refused = true;
        else errors[code] = (errors[code] ?? 0) + 1;
      }
      await sleep(5);
    }
    agent.destroy();
  });
  // A client's idle keep-alive connection: the drain closes it (it has carried nothing for a while), without an error.
  const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => idleAgent.destroy());
  t.equal((await httpsCall(`${p.url}/healthz`, { ca, agent: idleAgent })).status, 200);
  const [idleSocket] = Object.values(idleAgent.freeSockets).flat();
  let idleError: Error | undefined;
  const idleClosed = new Promise<void>((resolve) => idleSocket!.once('close', () => resolve()));
  idleSocket!.on('error', (e) => (idleError = e));
  await sleep(700);
  p.child.kill('SIGTERM');
  draining = true;
  await sleep(500);
  endpointsRemoved = true;
  await Promise.all(loops);
  const exit = await p.exited;
  await idleClosed;
  t.equal(idleError, undefined, 'the idle keep-alive connection was closed, not reset');
  t.same(errors, {}, 'no ECONNRESET, EPIPE or socket hang up');
  t.ok(ok > 50, `${ok} reviews answered`);
  t.ok(okDraining > 0, `${okDraining} answered during the drain`);
  t.ok(closeHeaders > 0, `${closeHeaders} answers said Connection: close`);
  t.equal(exit.code, 0);
});

t.test('a bad config written again after the good one was restored is logged and counted again', async (t) => {
  const { s, dir, ca, log } = await start(t, { configFile: 'tenancy.yaml' });
  const good = readFileSync(join(dir, 'tenancy.yaml'), 'utf8');
  const bad = 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenants: nope\n';
  const failures = () => log.lines().filter((l) => l.errorCode === 'TG_ERR_CONFIG_INVALID').length;
  writeFileSync(join(dir, 'tenancy.yaml'), bad);
  for (let i = 0; i < 60 && failures() < 1; i++) await sleep(50);
  t.equal(failures(), 1);
  writeFileSync(join(dir, 'tenancy.yaml'), good);
  await sleep(600);
  writeFileSync(join(dir, 'tenancy.yaml'), bad);
  for (let i = 0; i < 60 && failures() < 2; i++) await sleep(50);
  t.equal(failures(), 2, 'the second bad write is logged too');
  t.match((await httpsCall(`${s.url}/metrics`, { ca })).body, /tenant_guard_config_reloads_total\{result="error"\} 2/);
});
