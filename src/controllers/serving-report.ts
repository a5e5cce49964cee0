// How the leader knows what every replica serves, for the CA roll of mode
// self (src/certs/self-rotation.ts): each replica connects to its own
// listener over TLS and publishes the certificate it is handed in a Lease of
// its own that it renews. A Lease (not a Pod annotation)
// because it needs no write access to Pods and expires by itself when the
// replica goes away: the leader counts only live reports. The report carries
// the certificate, so the leader checks which CA signed it. What is reported is
// what a TLS client gets, not what a file holds, so a reload that failed or
// has not happened yet keeps the old CA trusted.
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
import type { ServingReport } from '../certs/self-rotation.js';
import { leaseLive, leasePath, microTime } from './lease.js';

export const REPORT_LABEL = 'tenant-guard.dev/serving-report';
export const REPORT_SHA_ANNOTATION = 'tenant-guard.dev/serving-sha256';
/** The served certificate itself (public, ~1.5 kB), so the leader can check which CA signed it. */
export const REPORT_CERT_ANNOTATION = 'tenant-guard.dev/serving-certificate';

/** The certificate a TLS client gets from host:port: its SHA-256 (hex) and PEM. */
export function probeServedCertificate(host: string, port: number, timeoutMs = 5000): Promise<{ sha256: string; certPem: string }> {
  return new Promise((resolve, reject) => {
    // Only the certificate is read, never trusted: no request is sent over this connection.
    const socket = tls.connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      if (!cert?.raw) reject(new Error('the listener presented no certificate'));
      else
        resolve({
          sha256: createHash('sha256').update(cert.raw).digest('hex'),
          certPem: `-----BEGIN CERTIFICATE-----\n${cert.raw.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
        });
    });
    socket.on('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.on('error', reject);
  });
}

/** The Lease name of a replica's report: `<secret>-served-<replica>`, within the 253 characters of a name. */
export function reportLeaseName(secretName: string, replica: string): string {
  const name = `${secretName}-served-${replica}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  if (name.length <= 253) return name;
  return `${name.slice(0, 240)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

export interface ServingReporterOptions {
  namespace: string;
  secretName: string;
  replica: string;
  /** Where this replica's own listener answers. */
  host: string;
  port: number;
  probeMs: number;
  leaseDurationMs: number;
}

/** One replica's report, renewed every `probeMs` (and at once when the served certificate changes). */
export class ServingReporter {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastSha = '';
  private lastWrite = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ServingReporterOptions,
    private readonly logger: Logger,
  ) {}

  start(): this {
    void this.tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A replica that leaves should not hold the roll up until its report expires.
    try {
      await this.client.request('DELETE', leasePath(this.opts.namespace, this.name));
    } catch (e) {
      if (!isHttpStatus(e, 404)) this.logger.warn({ err: describeError(e) }, 'could not delete the serving report');
    }
  }

  private get name(): string {
    return reportLeaseName(this.opts.secretName, this.opts.replica);
  }

  /** Probe the listener and publish; exposed for tests. */
  async report(now = new Date()): Promise<void> {
    const { sha256: sha, certPem } = await probeServedCertificate(this.opts.host, this.opts.port);
    // Renew at a third of the duration so one missed write does not expire the report.
    if (sha === this.lastSha && now.getTime() - this.lastWrite < this.opts.leaseDurationMs / 3) return;
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.opts.namespace,
        labels: { [REPORT_LABEL]: this.opts.secretName },
        annotations: { [REPORT_SHA_ANNOTATION]: sha, [REPORT_CERT_ANNOTATION]: certPem },
      },
      spec: { holderIdentity: this.opts.replica, leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000), renewTime: microTime(now) },
    };
    try {
      const current = await this.client.get<{ metadata: { resourceVersion: string } }>(leasePath(this.opts.namespace, this.name));
      await this.client.request('PUT', leasePath(this.opts.namespace, this.name), {
        body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } },
      });
    } catch (e) {
      if (!isHttpStatus(e, 404)) throw e;
      await this.client.request('POST', leasePath(this.opts.namespace), { body });
    }
    if (sha !== this.lastSha) this.logger.info({ sha256: sha }, 'reported the serving certificate');
    this.lastSha = sha;
    this.lastWrite = now.getTime();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.report();
    } catch (e) {
      this.logger.warn({ err: describeError(e) }, 'could not report the serving certificate');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.opts.probeMs);
      this.timer.unref();
    }
  }
}

interface ReportLease {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/** The live reports of the replicas serving `secretName`'s certificate. */
export async function listServingReports(client: KubeClient, namespace: string, secretName: string, now = new Date()): Promise<ServingReport[]> {
  const list = await client.get<{ items: ReportLease[] }>(leasePath(namespace), { labelSelector: `${REPORT_LABEL}=${secretName}` });
  return list.items
    .filter((l) => leaseLive(l, now) && l.metadata.annotations?.[REPORT_CERT_ANNOTATION])
    .map((l) => ({ replica: l.spec?.holderIdentity ?? l.metadata.name, certPem: l.metadata.annotations![REPORT_CERT_ANNOTATION]! }));
}
