import type { IncomingMessage } from 'node:http';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from './review.js';
import type { SerialLane } from './serial-lane.js';

/** A body that could not be read; the error handler turns it into the HTTP answer. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413,
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

function hasPoisonKeys(buf: Buffer): boolean {
  return buf.includes('"__proto__"') || buf.includes('"constructor"');
}

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
    return hasPoisonKeys(buf) ? JSON.parse(text, poisonReviver) : JSON.parse(text);
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

/**
 * Read a JSON body from `raw`: chunks are kept as Buffers and decoded once.
 * Above `limitBytes` the rest is read and dropped (up to `drainBytes`, after
 * which the socket is cut) and the result is a 413 BodyError. Big bodies are
 * parsed in `lane`; the flag tells the route to judge them there as well.
 */
export function readJsonBody(raw: IncomingMessage, limits: BodyLimits, lane: SerialLane): Promise<{ body: unknown; big: boolean }> {
  return new Promise((resolve, reject) => {
    const declared = Number(raw.headers['content-length']);
    const chunks: Buffer[] = [];
    let received = 0;
    let over = declared > limits.limitBytes;
    // The first bytes of an oversized body, for its uid; nothing is copied for a body within the limit.
    let head: string | undefined;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (over && head === undefined) head = chunk.subarray(0, UID_WINDOW).toString('latin1');
      if (!over && received > limits.limitBytes) {
        over = true;
        head = Buffer.concat(chunks.length > 0 ? chunks : [chunk]).subarray(0, UID_WINDOW).toString('latin1');
        chunks.length = 0;
      }
      if (over) {
        if (received > limits.drainBytes) {
          cleanup();
          raw.socket.destroy();
          reject(new BodyError(413, 'the request body is far above the limit; the connection was cut'));
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (over) return reject(new BodyError(413, 'too large', UID_RE.exec(head ?? '')?.[1]));
      if (!Number.isNaN(declared) && declared !== received) return reject(new BodyError(400, `the body has ${received} bytes, content-length says ${declared}`));
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      if (received < limits.bigBytes) {
        try {
          resolve({ body: parseJson(buf), big: false });
        } catch (e) {
          reject(e);
        }
        return;
      }
      lane.run(() => parseJson(buf)).then((body) => resolve({ body, big: true }), reject);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new BodyError(400, `the request body could not be read: ${e.message}`));
    };
    const cleanup = () => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
    };
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
  });
}
