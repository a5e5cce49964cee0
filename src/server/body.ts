import type { IncomingMessage } from 'node:http';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from './review.js';
import type { BodyTicket } from './body-budget.js';
import type { SerialLane } from './serial-lane.js';

/** A body that could not be read; the error handler turns it into the HTTP answer. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 503,
    message: string,
    /** The review's uid when it could be seen in the first bytes (a 413 echoes it). */
    readonly uid?: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface BodyLimits {
  /** Bodies above this get a 413. */
  limitBytes: number;
  /** Bodies from this size on are parsed in the lane, one at a time. */
  bigBytes: number;
  /**
   * How much of an oversized body is read (and thrown away) before the
   * connection is cut. Reading it lets the client finish sending and read the
   * 413; closing while it still sends would reset the connection and the
   * client would see a socket error instead of the answer.
   */
  drainBytes: number;
}

// The API server's Go encoder writes TypeMeta, then request.uid first: the uid is in the first bytes.
const UID_RE = /"uid"\s*:\s*"([^"\\]{1,128})"/;
const UID_WINDOW = 4096;

/**
 * A key that would change an object's prototype if a rule ever copied it with
 * Object.assign is refused, as fastify's default parser (secure-json-parse)
 * does; the reviver only runs on the rare body that contains such a key.
 */
function poisonReviver(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('the body has a "__proto__" key');
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype'))
    throw new SyntaxError('the body has a "constructor.prototype" key');
  return value;
}

export function parseJson(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  try {
    // Searched in the decoded text (a Buffer search would encode the needle again on every call). A key can be
    // spelled with \u escapes ("\u005f_proto__"): any escape sends the body through the reviver, which sees decoded keys.
    return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u') ? JSON.parse(text, poisonReviver) : JSON.parse(text);
  } catch (e) {
    throw new BodyError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
}

/** The AdmissionReview-shaped answer to an oversized body (the uid when it was seen). */
export function tooLargeReview(limitBytes: number, uid: string | undefined) {
  const message = `TG_ERR_REVIEW_INVALID: the request body is larger than ${limitBytes} bytes (7 MiB: two 3 MiB objects and the envelope); the request is denied`;
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_KIND,
    response: { uid: uid ?? '', allowed: false, status: { code: 413, reason: 'RequestEntityTooLarge', message } },
    code: 'TG_ERR_REVIEW_INVALID',
    message,
  };
}

/** What readJsonBody hands over: the parsed body (parsed in the lane when `big`), or why there is none. */
export type BodyCallback = (error: BodyError | undefined, body?: unknown, big?: boolean) => void;

/**
 * Read a JSON body from `raw`: chunks are kept as Buffers and decoded once.
 * Above `limitBytes` the rest is read and dropped (up to `drainBytes`, after
 * which the socket is cut) and the result is a 413 BodyError. Big bodies are
 * parsed in `lane`; the flag tells the route to judge them there as well.
 * A callback rather than a promise: this runs once per review, and the
 * promise, its reactions and the microtask turn were a measurable part of it.
 * `done` is called exactly once.
 */
export function readJsonBody(raw: IncomingMessage, limits: BodyLimits, lane: SerialLane, done: BodyCallback, ticket?: BodyTicket): void {
  const declared = Number(raw.headers['content-length']);
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  let over = declared > limits.limitBytes;
  let settled = false;
  // The first bytes of an oversized body, for its uid; nothing is copied for a body within the limit.
  let head: string | undefined;
  const finish = (error: BodyError | undefined, body?: unknown, big?: boolean) => {
    if (settled) return;
    settled = true;
    done(error, body, big);
  };
  // A body without content-length reserves its memory as it arrives (body-budget.ts).
  const chunked = ticket !== undefined && Number.isNaN(declared);
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (ticket) ticket.received = received;
    if (chunked && !over && !ticket.grow(received)) {
      raw.off('data', onData);
      first = undefined;
      chunks = undefined;
      return finish(new BodyError(503, 'the server holds as many request bytes as its budget allows'));
    }
    if (over && head === undefined) head = chunk.subarray(0, UID_WINDOW).toString('latin1');
    if (!over && received > limits.limitBytes) {
      over = true;
      const seen = chunks ?? (first ? [first] : [chunk]);
      head = Buffer.concat(seen).subarray(0, UID_WINDOW).toString('latin1');
      first = undefined;
      chunks = undefined;
    }
    if (over) {
      if (received > limits.drainBytes) {
        raw.off('data', onData);
        raw.socket.destroy();
        finish(new BodyError(413, 'the request body is far above the limit; the connection was cut'));
      }
      return;
    }
    // Most reviews arrive in one chunk: no array for them.
    if (first === undefined && chunks === undefined) first = chunk;
    else (chunks ??= [first!]).push(chunk), (first = undefined);
  };
  // Once 'end' came nothing else is read from this request: the listeners go with it.
  raw.on('data', onData);
  raw.on('end', () => {
    // Arrived whole: no longer a slow body the budget may cut.
    if (ticket) ticket.subject = undefined;
    if (over) return finish(new BodyError(413, 'too large', UID_RE.exec(head ?? '')?.[1]));
    if (!Number.isNaN(declared) && declared !== received) return finish(new BodyError(400, `the body has ${received} bytes, content-length says ${declared}`));
    const buf = first ?? (chunks ? Buffer.concat(chunks, received) : Buffer.alloc(0));
    if (received < limits.bigBytes) {
      let body: unknown;
      try {
        body = parseJson(buf);
      } catch (e) {
        return finish(e as BodyError);
      }
      return finish(undefined, body, false);
    }
    lane.run(() => parseJson(buf)).then(
      (body) => finish(undefined, body, true),
      (e: unknown) => finish(e instanceof BodyError ? e : new BodyError(400, String(e))),
    );
  });
  raw.on('error', (e: Error) => finish(new BodyError(400, `the request body could not be read: ${e.message}`)));
}
