// An open-loop load generator: requests are sent on a fixed schedule, whether
// or not earlier ones were answered (a closed-loop client such as autocannon
// waits for an answer before the next request, which hides queueing:
// "coordinated omission").
//
// It runs on the same 2 cores as the server, so it must cost the server as
// little as possible and add as little latency of its own as it can: it
// writes a pre-built HTTP/1.1 request on raw keep-alive TLS connections and
// reads the answer by its Content-Length (the webhook always sends one), with
// no per-request objects beyond a closure. Node's https client cost about
// 0.3 ms of CPU per request and put its own milliseconds into the tail: a bare
// server measured p50 2 ms, p99 3-22 ms through it.
//
// The schedule ticks on a 1 ms timer, so a request goes out up to about a
// millisecond after it was due. That delay is the generator's, not the
// server's: latency is counted from the tick that dispatched the request, and
// the timer's own delay is reported apart (`dispatchLate`). A request that
// finds every connection busy waits for one, and that wait counts: it is the
// server's queue.
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  /** Sorted latencies in ms, from dispatch to the last byte of the answer. */
  latencies: number[];
  /** Sorted delays in ms between when requests were due and when the timer dispatched them (the generator's, not the server's). */
  dispatchLate: number[];
  /** Sorted latencies in ms from when each request was due: the timer's delay included. */
  fromDue: number[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One POST on a Node https Agent (used for the big-body senders, where the client's cost does not matter). */
export function post(agent: Agent, url: string, ca: string, body: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, ca, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** A keep-alive connection carrying one request at a time. */
class Connection {
  private buffered: Buffer | undefined;
  private onAnswer: ((status: number) => void) | undefined;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly onClose: (c: Connection) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    const closed = () => {
      const pending = this.onAnswer;
      this.onAnswer = undefined;
      pending?.(0);
      this.onClose(this);
    };
    socket.on('close', closed);
    socket.on('error', () => socket.destroy());
  }

  static open(host: string, port: number, ca: string, onClose: (c: Connection) => void): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, ca, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }, () => resolve(new Connection(socket, onClose)));
      socket.once('error', reject);
    });
  }

  get busy(): boolean {
    return this.onAnswer !== undefined;
  }

  /** Send the request; `done` gets the HTTP status, or 0 when the connection failed. */
  send(requestBytes: Buffer, done: (status: number) => void): void {
    this.onAnswer = done;
    this.buffered = undefined;
    this.socket.write(requestBytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    const headerEnd = data.indexOf(HEADER_END);
    if (headerEnd < 0) {
      this.buffered = data;
      return;
    }
    const head = data.toString('latin1', 0, headerEnd);
    const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(length)) {
      // Not an answer this generator can read: count it failed and drop the connection.
      this.socket.destroy();
      return;
    }
    if (data.length < headerEnd + 4 + length) {
      this.buffered = data;
      return;
    }
    this.buffered = undefined;
    const done = this.onAnswer;
    this.onAnswer = undefined;
    done?.(Number(head.slice(9, 12)));
  }
}

/** POST `body` to `url` at `rate` requests/s for `durationS` seconds over at most `connections` keep-alive connections. */
export async function openLoop(opts: { url: string; ca: string; body: string; rate: number; durationS: number; connections: number }): Promise<OpenLoopResult> {
  const url = new URL(opts.url);
  const bodyBytes = Buffer.from(opts.body);
  const requestBytes = Buffer.concat([
    Buffer.from(
      `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${bodyBytes.length}\r\n\r\n`,
      'latin1',
    ),
    bodyBytes,
  ]);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const open = new Set<Connection>();
  const idle: Connection[] = [];
  const dropped = (c: Connection) => {
    open.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
  };
  // Connections are opened before the clock starts: handshakes are not what is measured.
  for (let i = 0; i < opts.connections; i++) {
    const c = await Connection.open(host, port, opts.ca, dropped);
    open.add(c);
    idle.push(c);
  }

  const total = Math.round(opts.rate * opts.durationS);
  const latencies = new Float64Array(total);
  const late = new Float64Array(total);
  const fromDue = new Float64Array(total);
  let answered = 0;
  let ok = 0;
  let failed = 0;
  let sent = 0;
  // Requests dispatched while every connection was busy, with their dispatch time: they wait for the next free one.
  const waiting: number[] = [];
  let finished: () => void = () => undefined;
  const allAnswered = new Promise<void>((resolve) => (finished = resolve));

  const start = performance.now();
  const fire = (i: number, dispatched: number) => {
    let c = idle.pop();
    while (c && !open.has(c)) c = idle.pop();
    if (!c) {
      if (open.size === 0) return complete(i, dispatched, 0);
      waiting.push(i, dispatched);
      return;
    }
    const conn = c;
    conn.send(requestBytes, (status) => {
      complete(i, dispatched, status);
      if (!open.has(conn)) return;
      if (waiting.length > 0) {
        const next = waiting.shift()!;
        const at = waiting.shift()!;
        idle.push(conn);
        fire(next, at);
      } else idle.push(conn);
    });
  };
  const complete = (i: number, dispatched: number, status: number) => {
    const now = performance.now();
    latencies[i] = now - dispatched;
    fromDue[i] = now - (start + (i / opts.rate) * 1000);
    if (status === 200) ok++;
    else failed++;
    if (++answered === total) finished();
  };
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * opts.rate) + 1);
    for (; sent < due; sent++) {
      late[sent] = now - (start + (sent / opts.rate) * 1000);
      fire(sent, now);
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
  await allAnswered;
  for (const c of open) c.close();
  return {
    sent,
    ok,
    failed,
    latencies: Array.from(latencies).sort((a, b) => a - b),
    dispatchLate: Array.from(late).sort((a, b) => a - b),
    fromDue: Array.from(fromDue).sort((a, b) => a - b),
  };
}
