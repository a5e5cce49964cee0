import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Readiness } from '../readiness.js';

/**
 * /healthz: the process answers (liveness; never depends on the cluster, so a
 * slow API server does not get the pod restarted). /readyz: config loaded,
 * cluster state synced, not shutting down. /metrics: Prometheus text format.
 */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness, registry: Registry): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const waiting = readiness.unmet();
    if (waiting.length === 0) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', waiting });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
