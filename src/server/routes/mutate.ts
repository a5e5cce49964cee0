import type { FastifyInstance } from 'fastify';
import type { AdmissionDeps } from '../admission.js';
import { registerAdmissionRoute, type BigBodies } from './admission-route.js';

export const MUTATE_PATH = '/mutate';

/**
 * The MutatingWebhookConfiguration's path: answers with the engine's JSON
 * Patch when the request is allowed, and denies with the same message as
 * /validate when it is not (so a bad object is refused before other mutating
 * webhooks spend work on it).
 */
export function registerMutateRoute(app: FastifyInstance, deps: AdmissionDeps, bigBodies: BigBodies): void {
  registerAdmissionRoute(app, MUTATE_PATH, 'mutate', deps, bigBodies);
}
