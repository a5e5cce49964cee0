import { request, Agent, type RequestOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsResult {
  status: number;
  body: string;
  /** CN of the certificate the server presented. */
  peerCN: string | undefined;
  protocol: string | null;
}

/** One HTTPS request over loopback, trusting only `ca`. A fresh TLS connection unless an agent is given. */
export function httpsCall(
  url: string,
  opts: { ca: string; method?: string; body?: unknown; agent?: Agent; servername?: string; tls?: Partial<RequestOptions> },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? (payload ? 'POST' : 'GET'),
        ca: opts.ca,
        agent: opts.agent ?? false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        ...(opts.servername ? { servername: opts.servername } : {}),
        ...opts.tls,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const peerCN = socket.getPeerCertificate?.()?.subject?.CN;
        const protocol = socket.getProtocol?.() ?? null;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), peerCN: Array.isArray(peerCN) ? peerCN[0] : peerCN, protocol }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
