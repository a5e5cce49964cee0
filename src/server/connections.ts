import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';

/** How long a connection must have carried nothing before the drain closes it. */
export const DRAIN_IDLE_MS = 1_000;
const SWEEP_MS = 250;
/** Bounds the accept-queue drain of closeListener: a saturated server whose queue never empties closes anyway. */
const MAX_ACCEPT_DRAIN_MS = 500;

interface Seen {
  bytes: number;
  since: number;
}

/**
 * Graceful closing of keep-alive connections during a shutdown.
 *
 * Closing a connection the client considers idle races with the client
 * writing its next request on it: the request meets a reset, and the API
 * server's Go client does not retry a POST. So during the drain every
 * response says `Connection: close` (app.ts), which ends busy connections
 * after their current review with the client's knowledge, and only
 * connections that have carried no byte for DRAIN_IDLE_MS (no request in
 * progress, none being written) are closed by the server. Node's own
 * server.close() would close every idle connection at once, including one
 * whose client is writing a request right then; it is replaced by the same
 * rule.
 *
 * Nothing is done per request: the drain looks at socket byte counters.
 */
export class ConnectionDrain {
  private readonly sockets = new Map<Socket, Seen>();
  private sweeper: NodeJS.Timeout | undefined;
  /** When the listener last accepted a TCP connection, and how many it has accepted. */
  private lastAccept = 0;
  private accepted = 0;

  constructor(
    private readonly server: Server & { closeIdleConnections?: () => void },
    secure: boolean,
    private readonly idleMs = DRAIN_IDLE_MS,
  ) {
    server.on('connection', () => {
      this.lastAccept = Date.now();
      this.accepted++;
    });
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.set(socket, { bytes: -1, since: 0 });
      socket.once('close', () => this.sockets.delete(socket));
    });
    // server.close() calls closeIdleConnections() (Node >= 19): instead, close the connections the sweep finds idle, until none is left.
    server.closeIdleConnections = () => this.start();
  }

  /** Start closing idle connections (called when readiness starts failing). */
  start(): void {
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    this.sweep();
  }

  /**
   * Close the listener without resetting a connection the kernel already
   * completed. Closing a listening socket resets every connection still in
   * its accept queue: a client that connected a moment earlier (or while the
   * event loop was busy with handshakes) sees ECONNRESET after its TCP
   * handshake, which the API server's Go client does not retry for a POST.
   * So: wait until no connection was accepted for `quietMs` (after the
   * shutdown delay the endpoints no longer send any; `maxMs` bounds the wait
   * for clients that ignore them), then turn the event loop until the queue
   * is empty (Node accepts about one queued connection per turn: measured,
   * 20 queued took 21 turns) and close in that same turn. A connection arriving after that is refused before TLS
   * (ECONNREFUSED), which clients may retry. Connections accepted meanwhile
   * are answered with `Connection: close`.
   */
  async closeListener(close: () => Promise<void>, quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline && Date.now() - this.lastAccept < quietMs) await sleep(Math.min(50, quietMs));
    // Two turns in a row without a new connection: the queue is empty (each turn polls the listening socket).
    let seen = -1;
    const acceptDeadline = Date.now() + MAX_ACCEPT_DRAIN_MS;
    for (let still = 0; still < 2 && Date.now() < acceptDeadline; ) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.accepted === seen) still++;
      else (still = 0), (seen = this.accepted);
    }
    return close();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Open connections (for tests and logs). */
  get size(): number {
    return this.sockets.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [socket, seen] of this.sockets) {
      const bytes = socket.bytesRead + socket.bytesWritten;
      // A response being written (or a request waiting for one) keeps the connection.
      const busy = (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
      if (busy || bytes !== seen.bytes) {
        seen.bytes = bytes;
        seen.since = now;
        continue;
      }
      if (now - seen.since >= this.idleMs) {
        this.sockets.delete(socket);
        // end(): TLS close_notify and FIN, which the client reads as the server closing an idle connection.
        socket.end();
        socket.setTimeout(this.idleMs, () => socket.destroy());
      }
    }
  }
}
