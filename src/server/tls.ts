import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { describeError, TenantGuardError, describeFsError } from '../errors.js';
import { watchFiles, type FileWatch, type FileWatchOptions } from './file-watch.js';
import { ALPN_PROTOCOLS, TLS_MIN_VERSION } from './limits.js';
import { LOG, MSG } from './log-keys.js';
import type { ServerMetrics } from './metrics.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle that signs the API server's client certificate (serve --client-ca); clients are not asked for one when absent. */
  clientCaFile?: string;
}

/** A serving pair that Node accepted: the key matches the certificate. */
export interface TlsPair {
  cert: string;
  key: string;
  /** The client CA bundle (PEM), when callers must present a certificate. */
  clientCa?: string;
  /** Subject and expiry, for logs. */
  subject: string;
  validTo: string;
}

/** The secure-context options of the server, for the initial pair and for every reload. */
export function serverTlsOptions(pair: Pick<TlsPair, 'cert' | 'key' | 'clientCa'>): SecureContextOptions & { ALPNProtocols: string[] } {
  const options: SecureContextOptions & { ALPNProtocols: string[] } = { cert: pair.cert, key: pair.key, minVersion: TLS_MIN_VERSION, ALPNProtocols: ALPN_PROTOCOLS };
  // The CA is part of the secure context, so a reload swaps it with the serving pair; requestCert is a server option (client-auth.ts).
  if (pair.clientCa !== undefined) options.ca = pair.clientCa;
  return options;
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TenantGuardError('TG_ERR_TLS', `cannot read the TLS ${what} ${file}: ${describeFsError(e)}`);
  }
}

/**
 * Read and check a certificate and key. Throws TG_ERR_TLS when a file is
 * missing, the certificate does not parse or has expired, or the key does not
 * belong to it. Messages never quote the key.
 */
export function loadTlsPair(files: TlsFiles, now = new Date()): TlsPair {
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_TLS', `${files.certFile} is not a PEM certificate: ${describeError(e)}`);
  }
  if (new Date(x509.validTo) <= now) throw new TenantGuardError('TG_ERR_TLS', `${files.certFile} expired on ${x509.validTo}`);
  try {
    // The same check the server does on setSecureContext(): key and certificate must match.
    createSecureContext(serverTlsOptions({ cert, key }));
  } catch (e) {
    throw new TenantGuardError('TG_ERR_TLS', `${files.keyFile} and ${files.certFile} are not a usable pair: ${(e as Error).message}`);
  }
  const clientCa = files.clientCaFile === undefined ? undefined : loadClientCa(files.clientCaFile, now);
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo, ...(clientCa !== undefined ? { clientCa } : {}) };
}

/**
 * Read a client CA bundle: one or more PEM certificates, at least one of them
 * still valid. A bundle that trusts nothing would refuse the API server on
 * every review, so it is refused like a bad serving pair.
 */
export function loadClientCa(file: string, now = new Date()): string {
  const pem = read(file, 'client CA');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TenantGuardError('TG_ERR_TLS', `${file} holds no PEM certificate (the client CA bundle)`);
  let valid = 0;
  for (const block of blocks) {
    try {
      if (new Date(new X509Certificate(block).validTo) > now) valid++;
    } catch (e) {
      throw new TenantGuardError('TG_ERR_TLS', `${file} has a certificate that does not parse: ${describeError(e)}`);
    }
  }
  if (valid === 0) throw new TenantGuardError('TG_ERR_TLS', `every certificate in the client CA bundle ${file} has expired`);
  return pem;
}

/** What the reloader needs of the server: Node's https/tls Server has it. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

function fingerprint(pair: Pick<TlsPair, 'cert' | 'key' | 'clientCa'>): string {
  return createHash('sha256').update(pair.cert).update('\0').update(pair.key).update('\0').update(pair.clientCa ?? '').digest('hex');
}

/**
 * Serve a rotated certificate without a restart: on a change of the files,
 * load and check the new pair and swap the server's secure context. Open
 * connections keep the context they were made with; the next TLS handshake
 * gets the new one. A bad new pair (half-written, mismatched, expired) is
 * refused and the previous pair keeps being served.
 */
export class TlsReloader {
  private current: string;
  private refused: string | undefined;
  private watcher: FileWatch | undefined;

  constructor(
    private readonly target: SecureContextTarget,
    private readonly files: TlsFiles,
    initial: TlsPair,
    private readonly logger: Logger,
    private readonly metrics?: Pick<ServerMetrics, 'tlsReloads'>,
  ) {
    this.current = fingerprint(initial);
  }

  /** Re-read the files; true when a new pair is now served. */
  reload(): boolean {
    let seen: string | undefined;
    try {
      // Fingerprint the raw files first so an unchanged or already-refused pair is skipped quietly.
      const clientCa = this.files.clientCaFile === undefined ? undefined : read(this.files.clientCaFile, 'client CA');
      seen = fingerprint({ cert: read(this.files.certFile, 'certificate'), key: read(this.files.keyFile, 'key'), ...(clientCa !== undefined ? { clientCa } : {}) });
      if (seen === this.current || seen === this.refused) return false;
      const pair = loadTlsPair(this.files);
      this.target.setSecureContext(serverTlsOptions(pair));
      this.current = fingerprint(pair);
      this.refused = undefined;
      this.metrics?.tlsReloads.inc({ result: 'success' });
      this.logger.info({ [LOG.file]: this.files.certFile, subject: pair.subject, validTo: pair.validTo }, MSG.tlsReloaded);
      return true;
    } catch (e) {
      this.refused = seen;
      this.metrics?.tlsReloads.inc({ result: 'error' });
      this.logger.error({ [LOG.errorCode]: 'TG_ERR_TLS', [LOG.file]: this.files.certFile, [LOG.error]: describeError(e) }, MSG.tlsReloadFailed);
      return false;
    }
  }

  watch(opts: FileWatchOptions = {}): this {
    const files = [this.files.certFile, this.files.keyFile, ...(this.files.clientCaFile !== undefined ? [this.files.clientCaFile] : [])];
    this.watcher ??= watchFiles(files, () => this.reload(), {
      ...opts,
      onWatchError: (e) => this.logger.warn({ [LOG.file]: this.files.certFile, [LOG.error]: e.message }, 'certificate watch failed; polling'),
    });
    return this;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
