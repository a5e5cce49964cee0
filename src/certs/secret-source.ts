// Certificates mode `self`, every replica's half: the serving pair comes from
// the Secret through the API (a watch on that one Secret), not from a Secret
// volume. A volume is refreshed by the kubelet only every sync period (about
// a minute, plus its cache TTL), which would stretch every CA roll; a watch
// sees the new pair within a second, as cert-manager's and Kyverno's own
// webhooks do. The pair is written to a private directory (key first, each
// file through a rename: src/certs/files.ts) where the server's TlsReloader
// picks it up like any rotated file.
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { describeError, TenantGuardError } from '../errors.js';
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
import { sleep } from '../cluster/watch-backoff.js';
import { certPaths, writeFileAtomic } from './files.js';
import { SECRET_KEYS } from './self-rotation.js';

export interface SecretSourceOptions {
  namespace: string;
  secretName: string;
  /** Directory for tls.crt and tls.key (an emptyDir in a pod). */
  dir: string;
}

interface SecretObject {
  metadata: { resourceVersion?: string };
  data?: Record<string, string>;
}

function pairOf(secret: SecretObject | undefined): { cert: string; key: string } | undefined {
  const cert = secret?.data?.[SECRET_KEYS.tlsCert];
  const key = secret?.data?.[SECRET_KEYS.tlsKey];
  if (!cert || !key) return undefined;
  return { cert: Buffer.from(cert, 'base64').toString('utf8'), key: Buffer.from(key, 'base64').toString('utf8') };
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export class SecretSource {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  readonly files: { certFile: string; keyFile: string };

  constructor(
    private readonly client: KubeClient,
    private readonly opts: SecretSourceOptions,
    private readonly logger: Logger,
  ) {
    const p = certPaths(opts.dir);
    this.files = { certFile: p.tlsCert, keyFile: p.tlsKey };
  }

  private get path(): string {
    return `/api/v1/namespaces/${this.opts.namespace}/secrets/${this.opts.secretName}`;
  }

  /** Write the pair when it differs from the files; true when written. */
  private write(secret: SecretObject | undefined): boolean {
    const pair = pairOf(secret);
    if (!pair) return false;
    if (readOr(this.files.certFile) === pair.cert && readOr(this.files.keyFile) === pair.key) return false;
    // Key first: the reloader reacts to the certificate and must find its key already there.
    writeFileAtomic(this.files.keyFile, pair.key, 0o600);
    writeFileAtomic(this.files.certFile, pair.cert, 0o644);
    this.logger.info({ secret: `${this.opts.namespace}/${this.opts.secretName}`, resourceVersion: secret?.metadata.resourceVersion }, 'wrote the serving pair from the Secret');
    return true;
  }

  /**
   * Wait until the Secret holds a serving pair (the leader creates it) and
   * write it; then keep following it. Rejects with TG_ERR_TLS after `timeoutMs`.
   */
  async start(timeoutMs: number): Promise<this> {
    try {
      mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new TenantGuardError('TG_ERR_TLS', `cannot create ${this.opts.dir}: ${describeError(e)}`);
    }
    const deadline = Date.now() + timeoutMs;
    let lastError = 'the Secret does not exist yet';
    let rv: string | undefined;
    for (;;) {
      try {
        const secret = await this.client.get<SecretObject>(this.path);
        rv = secret.metadata.resourceVersion;
        if (pairOf(secret)) {
          this.write(secret);
          break;
        }
        lastError = 'the Secret has no tls.crt/tls.key yet';
      } catch (e) {
        lastError = isHttpStatus(e, 404) ? 'the Secret does not exist yet' : describeError(e);
      }
      if (Date.now() > deadline)
        throw new TenantGuardError('TG_ERR_TLS', `no serving certificate in Secret ${this.opts.namespace}/${this.opts.secretName} after ${timeoutMs / 1000}s: ${lastError} (the leader creates it: is a replica leader, and may it write Secrets?)`);
      await sleep(1000, this.abort.signal);
    }
    this.loop = this.follow(rv);
    return this;
  }

  private async follow(resourceVersion: string | undefined): Promise<void> {
    let rv = resourceVersion;
    let failures = 0;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        await this.client.watch(
          `/api/v1/namespaces/${this.opts.namespace}/secrets`,
          { fieldSelector: `metadata.name=${this.opts.secretName}`, timeoutSeconds: 300, ...(rv ? { resourceVersion: rv } : {}) },
          (e) => {
            if (e.type === 'ADDED' || e.type === 'MODIFIED') {
              rv = (e.object as SecretObject).metadata.resourceVersion;
              this.write(e.object as SecretObject);
            }
          },
          { signal, idleTimeoutMs: 330_000 },
        );
        failures = 0;
      } catch (e) {
        failures++;
        // A 410 (resourceVersion too old) or a broken stream: read the Secret again and resume from there.
        rv = undefined;
        this.logger.warn({ err: describeError(e) }, 'Secret watch failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal);
        try {
          const secret = await this.client.get<SecretObject>(this.path);
          rv = secret.metadata.resourceVersion;
          this.write(secret);
        } catch {
          // the next watch attempt retries
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
