import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, type AdmissionDeps } from './admission.js';
import { readJsonBody, tooLargeReview, type BodyLimits } from './body.js';
import { LOG } from './log-keys.js';
import type { Endpoint } from './metrics.js';
import type { SerialLane } from './serial-lane.js';

export type AdmissionHandler = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, reqId: string) => void;

// application/json, with or without parameters (charset).
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

function codedError(statusCode: number, error: string, message: string, code = 'TG_ERR_REVIEW_INVALID') {
  return { statusCode, code, error, message: `${code}: ${message}` };
}

/**
 * The admission endpoints as a plain Node request handler: read the body,
 * judge, write one JSON answer. They are the only hot path of the webhook, so
 * they do not go through fastify's per-request machinery (request and reply
 * objects, hooks, the content-type parser's async resource, serializers): on
 * the 2-core bench that machinery cost more than the engine. app.ts routes
 * POST /mutate and /validate here, both from the listening server and from
 * inject(), so tests exercise this same code. Never throws.
 */
export function createAdmissionHandler(deps: AdmissionDeps, limits: BodyLimits, lane: SerialLane, draining?: () => boolean): AdmissionHandler {
  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
    // Once readiness fails, the client is told to leave the connection: it reconnects elsewhere, nothing is reset (connections.ts).
    if (draining?.()) headers.connection = 'close';
    res.writeHead(status, headers).end(text);
  };
  const refuse = (endpoint: Endpoint, res: ServerResponse, reqId: string, status: number, body: { code: string; message: string }) => {
    deps.series.record(endpoint, 'unknown', 'unknown', 'invalid');
    deps.log.warn({ reqId, [LOG.endpoint]: endpoint, [LOG.errorCode]: body.code, [LOG.error]: body.message }, 'request refused');
    send(res, status, body);
  };

  // admit() never throws; this keeps a broken invariant from leaving the API server without an answer.
  const internalError = (res: ServerResponse, reqId: string, e: unknown) => {
    deps.log.error({ reqId, [LOG.error]: String(e) }, 'unhandled error in the admission handler');
    if (!res.headersSent && !res.destroyed) send(res, 500, codedError(500, 'Internal Server Error', 'internal error; see the server log', 'TG_ERR_ENGINE'));
  };

  return (endpoint, req, res, reqId) => {
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type)) {
      // The rest of the body is read and dropped by Node once the response is written; the connection stays usable.
      refuse(endpoint, res, reqId, 415, codedError(415, 'Unsupported Media Type', `content-type must be application/json, got ${JSON.stringify(type ?? null)}`));
      return;
    }
    readJsonBody(req, limits, lane, (error, body, big) => {
      try {
        if (error) {
          if (res.destroyed) return;
          if (error.statusCode === 413) refuse(endpoint, res, reqId, 413, tooLargeReview(limits.limitBytes, error.uid));
          else refuse(endpoint, res, reqId, 400, codedError(400, 'Bad Request', error.message));
          return;
        }
        if (!big) {
          const r = admit(endpoint, body, deps, reqId);
          send(res, r.statusCode, r.body);
          return;
        }
        lane.run(() => admit(endpoint, body, deps, reqId)).then(
          (r) => send(res, r.statusCode, r.body),
          (e: unknown) => internalError(res, reqId, e),
        );
      } catch (e) {
        internalError(res, reqId, e);
      }
    });
  };
}
