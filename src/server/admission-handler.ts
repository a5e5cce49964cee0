import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit, type AdmissionDeps } from './admission.js';
import { readJsonBody, tooLargeReview, type BodyLimits } from './body.js';
import type { BodyBudget, BodyTicket, BudgetRefusal } from './body-budget.js';
import type { RateLimitedLog } from './rate-limited-log.js';
import { LOG } from './log-keys.js';
import type { Endpoint } from './metrics.js';
import type { SerialLane } from './serial-lane.js';

/** What answering a body the budget cut needs (BodyTicket.subject). */
interface CutSubject {
  endpoint: Endpoint;
  req: IncomingMessage;
  res: ServerResponse;
  reqId: string;
}

export type AdmissionHandler = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, reqId: string) => void;

// application/json, with or without parameters (charset).
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

function release(ticket: BodyTicket | undefined): void {
  if (ticket !== undefined) ticket.release();
}

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
export interface BudgetGuard {
  budget: BodyBudget;
  /** Refusals are logged at most once per interval (a flood must not become a log flood). */
  log: RateLimitedLog;
}

export function createAdmissionHandler(deps: AdmissionDeps, limits: BodyLimits, lane: SerialLane, draining?: () => boolean, guard?: BudgetGuard): AdmissionHandler {
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

  const refusals: Record<BudgetRefusal, { inc(): void }> = {
    body_budget: deps.metrics.refusals.labels({ reason: 'body_budget' }),
    slow_bodies: deps.metrics.refusals.labels({ reason: 'slow_bodies' }),
    stalled_body: deps.metrics.refusals.labels({ reason: 'stalled_body' }),
  };
  // Refused before (or instead of) reading the body; the connection is closed after the answer so its bytes stop coming.
  const overloaded = (endpoint: Endpoint, req: IncomingMessage, res: ServerResponse, reqId: string, why: BudgetRefusal) => {
    refusals[why].inc();
    deps.series.record(endpoint, 'unknown', 'unknown', 'invalid');
    const budget = guard!.budget;
    guard!.log.warn(
      why,
      { reqId, [LOG.endpoint]: endpoint, [LOG.errorCode]: 'TG_ERR_OVERLOADED', reason: why, bytesInFlight: budget.bytesInFlight, bodiesInFlight: budget.bodiesInFlight, [LOG.address]: req.socket.remoteAddress },
      'request refused: request bodies in flight are at their memory budget',
    );
    if (res.headersSent || res.destroyed) return void req.socket.destroy();
    const message =
      why === 'slow_bodies'
        ? `more than ${budget.limits.maxSlowBodies} request bodies were still arriving after ${budget.limits.slowAfterMs} ms; the newest was cut`
        : why === 'stalled_body'
          ? `the request body was still arriving ${budget.limits.stalledAfterMs} ms after the request started, too slowly, while the memory budget of bodies in flight was full; it was cut to make room`
          : `the request bodies in flight would exceed the server's memory budget (${budget.limits.totalBytes} bytes); retry`;
    const text = JSON.stringify(codedError(503, 'Service Unavailable', message, 'TG_ERR_OVERLOADED'));
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'retry-after': '1', connection: 'close' });
    res.end(text, () => req.socket.destroy());
  };

  if (guard) {
    guard.budget.onCut = (subject, why) => {
      const { endpoint, req, res, reqId } = subject as CutSubject;
      overloaded(endpoint, req, res, reqId, why);
    };
  }

  return (endpoint, req, res, reqId) => {
    const type = req.headers['content-type'];
    if (type === undefined || !JSON_TYPE.test(type)) {
      // The rest of the body is read and dropped by Node once the response is written; the connection stays usable.
      refuse(endpoint, res, reqId, 415, codedError(415, 'Unsupported Media Type', `content-type must be application/json, got ${JSON.stringify(type ?? null)}`));
      return;
    }
    let ticket: BodyTicket | undefined;
    if (guard) {
      const declared = Number(req.headers['content-length']);
      // An oversized body is read and dropped, never kept: it reserves nothing (but counts as a body that may be slow).
      const admitted = guard.budget.admit(declared > limits.limitBytes ? 0 : declared);
      if (typeof admitted === 'string') return overloaded(endpoint, req, res, reqId, admitted);
      ticket = admitted;
      ticket.subject = { endpoint, req, res, reqId } satisfies CutSubject;
      // Released below once the answer is written, on every path; a 'close' listener per request would cost more
      // than the rest of the budget. Should a path ever miss it, the budget's sweep frees the ticket of a finished response.
      ticket.response = res;
    }
    readJsonBody(req, limits, lane, (error, body, big) => {
      try {
        if (error) {
          release(ticket);
          if (res.destroyed || res.headersSent) return;
          if (error.statusCode === 503) overloaded(endpoint, req, res, reqId, 'body_budget');
          else if (error.statusCode === 413) refuse(endpoint, res, reqId, 413, tooLargeReview(limits.limitBytes, error.uid));
          else refuse(endpoint, res, reqId, 400, codedError(400, 'Bad Request', error.message));
          return;
        }
        // Cut by the budget while its last bytes were on the way: already answered.
        if (res.headersSent) return release(ticket);
        if (!big) {
          const r = admit(endpoint, body, deps, reqId);
          release(ticket);
          send(res, r.statusCode, r.body);
          return;
        }
        lane.run(() => admit(endpoint, body, deps, reqId)).then(
          (r) => {
            release(ticket);
            send(res, r.statusCode, r.body);
          },
          (e: unknown) => {
            release(ticket);
            internalError(res, reqId, e);
          },
        );
      } catch (e) {
        release(ticket);
        internalError(res, reqId, e);
      }
    }, ticket);
  };
}
