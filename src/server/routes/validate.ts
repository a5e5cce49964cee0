import type { FastifyInstance } from 'fastify';
import { admit, type AdmissionDeps } from '../admission.js';

export const VALIDATE_PATH = '/validate';

/**
 * The ValidatingWebhookConfiguration's path: judges the final object, after
 * every mutating webhook ran. Never patches.
 */
export function registerValidateRoute(app: FastifyInstance, deps: AdmissionDeps): void {
  app.post(VALIDATE_PATH, async (request, reply) => {
    const r = admit('validate', request.body, deps, request.log);
    return reply.code(r.statusCode).send(r.body);
  });
}
