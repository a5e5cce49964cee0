// Fresh connections during a shutdown: every one opened while the server
// drains gets its answer, and once the listener closes a new one is refused
// before TLS (ECONNREFUSED), never reset after it was accepted.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DEFAULT_CONFIG_PATH } from '../../src/config/default.js';
import { startWebhookServer } from '../../src/server/run.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const body = JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)));

t.test('fresh connections throughout the drain: answered, or refused before TLS; never reset', async (t) => {
  const dir = t.testdir({ 'tenancy.yaml': readFileSync(DEFAULT_CONFIG_PATH, 'utf8') });
  const log = capturingLogger();
  const s = await startWebhookServer(
    { host: '127.0.0.1', port: 0, tls: { certsDir: 'certs' }, configFile: DEFAULT_CONFIG_PATH, statePaths: [], shutdownDelayMs: 1000 },
    { logger: log.logger, cwd: dir },
  );
  const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
  const errors: Record<string, number> = {};
  let ok = 0;
  let okDraining = 0;
  let refusedAt = 0;
  let draining = false;
  const post = () =>
    new Promise<number>((resolve, reject) => {
      // agent false: a new TCP and TLS connection for every request.
      const req = request(`${s.url}/validate`, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
        r.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  // A steady stream of fresh connections (a few dozen per second, what an API server opens to a busy webhook),
  // before, during and after the close of the listener: the server is not saturated, so the race is the close itself.
  const loops = Array.from({ length: 4 }, async () => {
    // Until the listener has refused new connections for a while: the moment it closes is the one that matters.
    while (!refusedAt || Date.now() - refusedAt < 300) {
      try {
        const status = await post();
        if (status === 200) ok++;
        if (status === 200 && draining) okDraining++;
        if (status !== 200) errors[`HTTP ${status}`] = (errors[`HTTP ${status}`] ?? 0) + 1;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String(e);
        if (code === 'ECONNREFUSED') refusedAt ||= Date.now();
        else errors[code] = (errors[code] ?? 0) + 1;
      }
      await sleep(40);
    }
  });
  await sleep(300);
  draining = true;
  const done = s.shutdown('test');
  // A burst of fresh connections just as the shutdown delay ends, while the event loop is busy (as a server under load
  // is): they sit in the kernel's accept queue when the listener is due to close. Closing it then would reset them.
  await sleep(980);
  const burst = Array.from({ length: 10 }, () =>
    post().then(
      (status) => (status === 200 ? ok++ : (errors[`HTTP ${status}`] = (errors[`HTTP ${status}`] ?? 0) + 1)),
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? undefined : (errors[`burst ${e.code}`] = (errors[`burst ${e.code}`] ?? 0) + 1)),
    ),
  );
  await new Promise((r) => setImmediate(r));
  const busyUntil = Date.now() + 80;
  while (Date.now() < busyUntil);
  await Promise.all([...loops, ...burst]);
  await done;
  t.same(errors, {}, 'no ECONNRESET, EPIPE or socket hang up on a fresh connection');
  t.ok(okDraining > 0, `${okDraining} fresh connections answered during the drain (${ok} in all)`);
  t.ok(refusedAt > 0, 'after the drain, new connections are refused before TLS');
});
