import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { serverTlsOptions, type SecureContextTarget, type TlsPair } from './tls.js';

export interface MetricsListen {
  host: string;
  port: number;
  /** Serve over HTTPS with the webhook's certificate (reloaded with it); plain HTTP when absent. */
  tls?: TlsPair;
}

export interface MetricsServer {
  app: FastifyInstance;
  url: string;
  /** Set when served over TLS: where a certificate reload goes. */
  secureContext?: SecureContextTarget;
  close(): Promise<void>;
}

/**
 * /metrics on its own listener, so Prometheus scrapes it without the
 * webhook's self-managed CA (plain HTTP by default) and a NetworkPolicy can
 * open this port to the monitoring namespace alone. Also /healthz, for a
 * probe of this port.
 */
export async function startMetricsServer(listen: MetricsListen, registry: Registry): Promise<MetricsServer> {
  const app = (listen.tls ? Fastify({ https: serverTlsOptions(listen.tls), logger: false }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const server: MetricsServer = {
    app,
    url: `${listen.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: () => app.close(),
  };
  if (listen.tls) server.secureContext = app.server as unknown as HttpsServer;
  return server;
}
