import type { FastifyInstance } from 'fastify';
import { admit, type AdmissionDeps } from '../admission.js';

export const MUTATE_PATH = '/mutate';

/**
 * The MutatingWebhookConfiguration's path: answers with the engine's JSON
 * Patch when the request is allowed, and denies with the same message as
 * /validate when it is not (so a bad object is refused before other mutating
 * webhooks spend work on it).
 */
export function registerMutateRoute(app: FastifyInstance, deps: AdmissionDeps): void {
  app.post(MUTATE_PATH, async (request, reply) => {
    const r = admit('mutate', request.body, deps, request.log);
    return reply.code(r.statusCode).send(r.body);
  });
}
