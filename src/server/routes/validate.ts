import type { FastifyInstance } from 'fastify';
import type { AdmissionDeps } from '../admission.js';
import { registerAdmissionRoute, type BigBodies } from './admission-route.js';

export const VALIDATE_PATH = '/validate';

/**
 * The ValidatingWebhookConfiguration's path: judges the final object, after
 * every mutating webhook ran. Never patches.
 */
export function registerValidateRoute(app: FastifyInstance, deps: AdmissionDeps, bigBodies: BigBodies): void {
  registerAdmissionRoute(app, VALIDATE_PATH, 'validate', deps, bigBodies);
}
