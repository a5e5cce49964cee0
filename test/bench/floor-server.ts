// The floor of `npm run bench`: the least an HTTPS admission webhook can do
// in Node — bare node:https with the same TLS settings and keep-alive as
// tenant-guard, read the body, JSON.parse it, answer a fixed AdmissionReview
// echoing the uid. tenant-guard's requests/s are reported as a ratio to it.
// Run as its own process: `floor-server.ts <port> <cert file> <key file>`.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { ALPN_PROTOCOLS, KEEP_ALIVE_TIMEOUT_MS, TLS_MIN_VERSION } from '../../src/server/limits.js';

const [port, certFile, keyFile] = process.argv.slice(2);
const server = createServer(
  { cert: readFileSync(certFile!), key: readFileSync(keyFile!), minVersion: TLS_MIN_VERSION, ALPNProtocols: ALPN_PROTOCOLS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let uid = '';
      try {
        uid = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: { uid?: string } }).request?.uid ?? '');
      } catch {
        res.writeHead(400).end();
        return;
      }
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true, status: { code: 200 } } });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  },
);
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
