import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { httpsCall } from '../unit/server/https-client.js';
import { REPO, spawnServe } from '../unit/server/serve-process.js';

const deniedReview = readFileSync(join(REPO, 'examples', 'admission-review.json'), 'utf8');
const allowedReview = readFileSync(join(REPO, 'examples', 'admission-review-allowed.json'), 'utf8');

const DEMO = ['--config', join(REPO, 'examples', 'tenancy.yaml')];

t.test('as npm start runs it (the demo config, explicitly): development certs, empty state, the demo named first', async (t) => {
  const cwd = t.testdir();
  const p = await spawnServe(DEMO, cwd);
  t.teardown(() => {
    p.child.kill('SIGKILL');
  });
  t.match(p.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.match(p.lines[0], { level: 40, msg: /^serving the DEMO tenancy config examples\/tenancy\.yaml/ }, 'the first log line says the tenants are the demo\'s');
  for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) t.ok(statSync(join(cwd, 'certs', f)).isFile(), `certs/${f}`);
  t.equal(statSync(join(cwd, 'certs', 'tls.key')).mode & 0o777, 0o600);
  const ca = readFileSync(join(cwd, 'certs', 'ca.crt'), 'utf8');
  t.same(JSON.parse((await httpsCall(`${p.url}/readyz`, { ca })).body), { status: 'ready' });

  const denied = JSON.parse((await httpsCall(`${p.url}/validate`, { ca, body: deniedReview })).body).response;
  t.equal(denied.uid, '3b1f8a52-9c1e-4d2a-8f6e-5a7c0d9e1b24');
  t.equal(denied.allowed, false);
  t.match(denied.status.message, /\[TG-[A-Z-]+\] spec\.template\.metadata\.annotations\["sidecar\.istio\.io\/inject"\]/);
  const patched = JSON.parse((await httpsCall(`${p.url}/mutate`, { ca, body: allowedReview })).body).response;
  t.equal(patched.allowed, true);
  t.equal(patched.patchType, 'JSONPatch');

  const decision = p.lines.find((l) => l.msg === 'admission decision' && l.decision === 'denied');
  t.match(decision, { uid: '3b1f8a52-9c1e-4d2a-8f6e-5a7c0d9e1b24', kind: 'serving.knative.dev/v1/Service', namespace: 'tenant-1', name: 'hello', user: 'alice', operation: 'CREATE' });
  t.notMatch(JSON.stringify(p.lines), /helloworld-go/, 'no object body in the logs');
  t.match(p.lines.find((l) => l.msg === 'tenant-guard serving'), { config: join(REPO, 'examples', 'tenancy.yaml'), state: 'empty' });

  p.child.kill('SIGINT');
  t.same(await p.exited, { code: 0, signal: null }, 'SIGINT exits cleanly');
});

function slowRequest(port: number, ca: string, body: string) {
  const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  let response = '';
  socket.on('data', (c: Buffer) => (response += c.toString()));
  const done = new Promise<string>((resolve, reject) => {
    socket.on('end', () => resolve(response));
    socket.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  const started = new Promise<void>((r) =>
    socket.once('secureConnect', () => {
      socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`);
      r();
    }),
  );
  return { started, finish: () => socket.write(body.slice(half)), done };
}

t.test('SIGTERM: /readyz fails first, in-flight requests finish, then the process exits', async (t) => {
  const cwd = t.testdir();
  const p = await spawnServe([...DEMO, '--shutdown-delay', '1s'], cwd);
  t.teardown(() => {
    p.child.kill('SIGKILL');
  });
  const ca = readFileSync(join(cwd, 'certs', 'ca.crt'), 'utf8');
  const port = Number(new URL(p.url).port);

  const slow = slowRequest(port, ca, deniedReview);
  await slow.started;
  const burst = Array.from({ length: 40 }, (_, i) => httpsCall(`${p.url}/${i % 2 ? 'mutate' : 'validate'}`, { ca, body: i % 2 ? allowedReview : deniedReview }));
  await sleep(20);
  p.child.kill('SIGTERM');

  await sleep(300);
  const ready = await httpsCall(`${p.url}/readyz`, { ca });
  t.equal(ready.status, 503, '/readyz fails during the shutdown delay');
  t.same(JSON.parse(ready.body), { status: 'not ready', waiting: ['serving'] });
  t.equal((await httpsCall(`${p.url}/validate`, { ca, body: deniedReview })).status, 200, 'reviews are still answered during the delay');

  const results = await Promise.all(burst);
  t.same(results.map((r) => r.status), Array(40).fill(200), 'every request of the burst answered');

  await sleep(1200); // past the delay: the listener is closed now
  await t.rejects(httpsCall(`${p.url}/healthz`, { ca }), { code: 'ECONNREFUSED' }, 'no new connections once closed');
  slow.finish();
  const raw = await slow.done;
  t.match(raw, /^HTTP\/1\.1 200 OK/, 'the request in flight across the close is answered');
  t.match(raw, /"uid":"3b1f8a52-9c1e-4d2a-8f6e-5a7c0d9e1b24","allowed":false/);

  t.same(await p.exited, { code: 0, signal: null });
  const msgs = p.lines.map((l) => l.msg);
  const order = ['shutdown: failing readiness, draining', 'shutdown: closing the listener, waiting for in-flight requests', 'shutdown complete'].map((m) => msgs.indexOf(m));
  t.ok(order.every((i) => i >= 0) && order[0]! < order[1]! && order[1]! < order[2]!, `shutdown logged in order ${order}`);
});

t.test('startup errors are reported with their code and exit 2', async (t) => {
  const cwd = t.testdir({ 'bad.yaml': 'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenantz: []\n' });
  await t.rejects(spawnServe(['--config', 'bad.yaml', '--certs-dir', 'c'], cwd), /exited with 2 .*TG_ERR_CONFIG_INVALID: .*unknown field "tenantz"/s);
  await t.rejects(spawnServe([...DEMO, '--tls-cert', 'nope.crt', '--tls-key', 'nope.key'], cwd), /exited with 2 .*TG_ERR_TLS: cannot read the TLS certificate/s);
});
