import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** An API server answer that is not 2xx, with the Status reason when it sent one. */
export class KubeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeHttpError';
  }
}

export function isHttpStatus(e: unknown, status: number): boolean {
  return e instanceof KubeHttpError && e.status === status;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** One event of a watch stream (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: any;
}

export interface WatchOptions {
  signal: AbortSignal;
  /**
   * Give up on a stream that sends nothing for this long: a half-open TCP
   * connection (API server gone without a FIN) would otherwise look like a
   * quiet watch forever.
   */
  idleTimeoutMs: number;
}

function statusMessage(status: number, body: string): { reason?: string; message: string } {
  try {
    const s = JSON.parse(body) as { reason?: string; message?: string };
    return { reason: s.reason, message: s.message ?? `HTTP ${status}` };
  } catch {
    return { message: `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}` };
  }
}

/**
 * A minimal JSON client for the Kubernetes API on top of a client-node
 * KubeConfig (which supplies TLS material, tokens, exec plugins and in-cluster
 * config). We speak HTTP ourselves because the informer needs what
 * client-node's Watch does not give: an idle timeout, the HTTP status of a
 * refused watch (410 Gone) and a clean abort.
 */
export class KubeClient {
  private readonly base: URL;

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.base = new URL(cluster.server);
  }

  /** The API server's URL, for logs. */
  get server(): string {
    return this.base.toString();
  }

  private async open(method: string, path: string, query: Query | undefined, body: unknown, signal?: AbortSignal, contentType = 'application/json'): Promise<http.IncomingMessage> {
    const url = new URL(this.base.toString());
    // Keep a path prefix of the server URL (API servers behind a proxy).
    url.pathname = url.pathname.replace(/\/$/, '') + path;
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    // Re-applied on every request: in-cluster service account tokens are rotated on disk.
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) {
      opts.headers = { ...opts.headers, 'Content-Type': contentType, 'Content-Length': payload.length };
    }
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, signal }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  }

  private static async readAll(res: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** A JSON request; throws KubeHttpError on a non-2xx answer. */
  async request<T = any>(method: string, path: string, opts: { query?: Query; body?: unknown; signal?: AbortSignal; contentType?: string } = {}): Promise<T> {
    const res = await this.open(method, path, opts.query, opts.body, opts.signal, opts.contentType);
    const text = await KubeClient.readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const s = statusMessage(status, text);
      throw new KubeHttpError(status, s.reason, `${method} ${path}: ${s.message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = any>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  /**
   * Stream a watch: `onEvent` for each event; resolves when the server ends
   * the stream (its timeoutSeconds elapsed, or it shut down gracefully),
   * rejects on an HTTP error, a network error or the idle timeout, and
   * resolves quietly when `signal` aborts.
   */
  async watch(path: string, query: Query, onEvent: (e: WatchEvent) => void, opts: WatchOptions): Promise<void> {
    let res: http.IncomingMessage;
    try {
      res = await this.open('GET', path, { ...query, watch: 'true' }, undefined, opts.signal);
    } catch (e) {
      if (opts.signal.aborted) return;
      throw e;
    }
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const s = statusMessage(status, await KubeClient.readAll(res).catch(() => ''));
      throw new KubeHttpError(status, s.reason, `watch ${path}: ${s.message}`);
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        res.destroy();
        if (err && !opts.signal.aborted) reject(err);
        else resolve();
      };
      let idle = setTimeout(() => finish(new Error(`watch ${path}: no data for ${opts.idleTimeoutMs} ms`)), opts.idleTimeoutMs);
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', (line) => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new Error(`watch ${path}: no data for ${opts.idleTimeoutMs} ms`)), opts.idleTimeoutMs);
        if (!line.trim()) return;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch {
          finish(new Error(`watch ${path}: unparsable event`));
          return;
        }
        try {
          onEvent(event);
        } catch (e) {
          finish(e);
        }
      });
      // readline re-emits the response's errors on itself: both need a listener.
      res.on('error', (e) => finish(e));
      lines.on('error', (e) => finish(e));
      // 'aborted' fires when the connection dies mid-body (not a clean end).
      res.on('aborted', () => finish(new Error(`watch ${path}: connection lost`)));
      const closed = () => finish(res.complete ? undefined : new Error(`watch ${path}: connection lost`));
      lines.on('close', closed);
      res.on('close', closed);
      opts.signal.addEventListener('abort', () => finish(), { once: true });
    });
  }
}
