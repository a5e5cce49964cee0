// Probes, not part of the suite (package.json "tap.include" lists test/unit and test/integration only): hostile
// clients against the real body-budget limits over real TLS; each prints one JSON line. Run one at a time:
//   PROBE=trickle npx tap --disable-coverage test/probe/stall-probes.test.ts   (64 uploads of 256 KiB - 1 at ~70 KiB/s)
//   PROBE=trickle HOLDERS=7 DECLARED=7190235 BIG_PROBE=1 npx tap ...   (the big share held by 7 uploads at ~70 KiB/s; big reviews probed)
//   PROBE=grace   npx tap --disable-coverage test/probe/stall-probes.test.ts   (64 uploads sending nothing, reconnecting every 450 ms; HOLDERS, HOLD_MS)
import { once } from 'node:events';
import { connect, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Registry } from 'prom-client';
import { createCertificateAuthority, createServingCertificate } from '../../src/certs/generate.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../src/config/default.js';
import { buildApp } from '../../src/server/app.js';
import { staticConfig } from '../../src/server/config-provider.js';
import { createServerMetrics } from '../../src/server/metrics.js';
import { httpsCall } from '../unit/server/https-client.js';
import { ALICE, capturingLogger, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

const KiB = 1024;
const ca = createCertificateAuthority({ commonName: 'probe CA', days: 2 });
const pair = createServingCertificate({ ca, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], days: 1 });
const small = JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello'), ALICE)));
const head = (extra: string) => `POST /validate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n${extra}\r\n`;
const MODE = process.env.PROBE ?? 'trickle';
const HOLDERS = Number(process.env.HOLDERS ?? 64);
const DECLARED = Number(process.env.DECLARED ?? 256 * KiB - 1);

async function open(port: number): Promise<TLSSocket> {
  const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'localhost' });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  return socket;
}

/** A big body (300 KiB, sent whole at once): 400 (not JSON) means the budget admitted it, 503 that it refused it. */
async function bigProbe(port: number): Promise<{ status: number }> {
  const s = await open(port);
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.write(head(`content-length: ${300 * KiB}\r\n`));
  s.write(Buffer.alloc(300 * KiB, 0x20));
  for (let i = 0; i < 200 && text === ''; i++) await sleep(5);
  s.destroy();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? -1) };
}

t.test(`probe ${MODE}`, async (t) => {
  const app = buildApp({ config: staticConfig(loadDefaultTenancyConfig()), state: new MemoryStore(), logger: capturingLogger().logger, metrics: createServerMetrics(new Registry()), tls: { cert: pair.certPem, key: pair.keyPem } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}/validate`;
  let stop = false;
  let sentBytes = 0;
  let handshakes = 0;
  let cutByServer = 0;
  const holder = async (i: number) => {
    await sleep((i * 450) / HOLDERS);
    while (!stop) {
      const s = await open(port).catch(() => undefined);
      if (!s) continue;
      handshakes++;
      let answered = false;
      s.on('data', () => { answered = true; cutByServer++; });
      s.write(head(`content-length: ${DECLARED}\r\n`));
      if (MODE === 'trickle') {
        // just above 64 KiB/s, counted from the start, until one byte short of the end; then finish and go again
        const started = Date.now();
        let sent = 0;
        while (!stop && !answered && !s.destroyed && sent < DECLARED - 1) {
          const want = Math.min(DECLARED - 1, Math.ceil(((Date.now() - started + 120) * 70 * KiB) / 1000));
          if (want > sent) { s.write(Buffer.alloc(want - sent, 0x20)); sentBytes += want - sent; sent = want; }
          await sleep(50);
        }
      } else {
        // send nothing; leave just before the 500 ms grace and come back
        await sleep(Number(process.env.HOLD_MS ?? 450));
      }
      s.destroy();
    }
  };
  const holders = Array.from({ length: HOLDERS }, (_, i) => holder(i));
  await sleep(1000);
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const h0 = handshakes, b0 = sentBytes;
  const statuses: Record<number, number> = {};
  const windowMs = Number(process.env.WINDOW_MS ?? 4000);
  while (Date.now() - t0 < windowMs) {
    const r = process.env.BIG_PROBE ? await bigProbe(port) : await httpsCall(url, { ca: ca.certPem, body: small }).catch(() => ({ status: -1 }));
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    await sleep(50);
  }
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(holders);
  const line = { mode: MODE, holders: HOLDERS, declared: DECLARED, reviewStatuses: statuses, attackerKiBps: Math.round((sentBytes - b0) / 1024 / secs), handshakesPerS: Math.round((handshakes - h0) / secs), cutByServer, processCpuPct: Math.round(((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100) };
  console.log(JSON.stringify(line));
  t.pass('probe ran');
});
