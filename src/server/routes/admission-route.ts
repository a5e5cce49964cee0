import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { admit, type AdmissionDeps } from '../admission.js';
import type { Endpoint } from '../metrics.js';
import type { SerialLane } from '../serial-lane.js';

/** Where big bodies are judged: the lane they were parsed in (see serial-lane.ts). */
export interface BigBodies {
  lane: SerialLane;
  isBig(raw: IncomingMessage): boolean;
}

/** POST `path`: one AdmissionReview in, one answer out. A big review is judged in the lane, the rest at once. */
export function registerAdmissionRoute(app: FastifyInstance, path: string, endpoint: Endpoint, deps: AdmissionDeps, bigBodies: BigBodies): void {
  app.post(path, (request, reply) => {
    if (bigBodies.isBig(request.raw)) {
      bigBodies.lane.run(() => admit(endpoint, request.body, deps, request.id)).then(
        (r) => reply.code(r.statusCode).send(r.body),
        (e: Error) => reply.send(e),
      );
      return reply;
    }
    const r = admit(endpoint, request.body, deps, request.id);
    return reply.code(r.statusCode).send(r.body);
  });
}
