// Certificates mode `self`, the leader's half: keep the Secret's CA and
// serving certificate (src/certs/self-rotation.ts decides what to change) and
// keep the trust bundle in the caBundle of tenant-guard's own two webhook
// configurations, repairing it when something else (a GitOps sync, a
// `kubectl apply` of the chart's manifests) resets it. Only the leader writes;
// every replica loads the Secret through src/certs/secret-source.ts.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
import { sleep } from '../cluster/watch-backoff.js';
import {
  caBundleOf,
  planRotation,
  secretDataOf,
  stateOfSecret,
  type SelfCertSettings,
} from '../certs/self-rotation.js';
import type { Leadership } from './leadership.js';
import { listServingReports } from './serving-report.js';
import { X509Certificate } from 'node:crypto';

export interface WebhookConfigurationNames {
  mutating: string;
  validating: string;
}

export interface SelfCertificatesOptions {
  namespace: string;
  secretName: string;
  settings: SelfCertSettings;
  webhooks: WebhookConfigurationNames;
  /** Longest time between two reconciles (replica reports are polled at this pace). */
  resyncMs: number;
}

interface SecretObject {
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

interface WebhookConfiguration {
  metadata: { name: string; resourceVersion: string };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

const KINDS = {
  mutating: 'mutatingwebhookconfigurations',
  validating: 'validatingwebhookconfigurations',
} as const;

function configPath(kind: keyof typeof KINDS, name?: string): string {
  return `/apis/admissionregistration.k8s.io/v1/${KINDS[kind]}${name ? `/${name}` : ''}`;
}

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export interface SelfCertificatesMetrics {
  rotations: Counter<'action'>;
  caBundleRepairs: Counter<'configuration'>;
  servingExpiry: Gauge;
  bundleSize: Gauge;
}

export function createSelfCertificatesMetrics(registry: Registry): SelfCertificatesMetrics {
  const registers = [registry];
  return {
    rotations: new Counter({
      name: 'tenant_guard_certificate_changes_total',
      help: 'Changes the leader made to the certificates Secret of mode self, by action (ca-created, ca-rotated, serving-issued, serving-renewed, old-ca-removed, expired-ca-removed).',
      labelNames: ['action'],
      registers,
    }),
    caBundleRepairs: new Counter({
      name: 'tenant_guard_cabundle_patches_total',
      help: 'Patches of caBundle into a webhook configuration (after a rotation, or a repair when something reset it), by configuration kind.',
      labelNames: ['configuration'],
      registers,
    }),
    servingExpiry: new Gauge({ name: 'tenant_guard_serving_certificate_expiry_timestamp_seconds', help: 'notAfter of the serving certificate in the Secret of mode self.', registers }),
    bundleSize: new Gauge({ name: 'tenant_guard_ca_bundle_certificates', help: 'CAs in the trust bundle of mode self (2 during a CA roll).', registers }),
  };
}

export class SelfCertificatesController {
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private desiredBundle: string | undefined;
  private unsubscribe: (() => void) | undefined;
  private loops: Promise<unknown>[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly opts: SelfCertificatesOptions,
    private readonly leadership: Leadership,
    private readonly logger: Logger,
    private readonly metrics?: SelfCertificatesMetrics,
  ) {}

  start(): this {
    this.unsubscribe = this.leadership.onChange((leader) => (leader ? this.run() : this.halt()));
    if (this.leadership.isLeader()) this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.halt();
  }

  private run(): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loops = [this.reconcileLoop(abort.signal), this.watchLoop('mutating', abort.signal), this.watchLoop('validating', abort.signal)];
  }

  private async halt(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    this.wake?.();
    await Promise.allSettled(this.loops);
    this.loops = [];
  }

  /** Ask for a reconcile now (a webhook configuration changed). */
  private poke(): void {
    this.wake?.();
  }

  private async reconcileLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let delay: number;
      try {
        const wakeAt = await this.reconcile();
        failures = 0;
        delay = Math.min(this.opts.resyncMs, Math.max(0, wakeAt.getTime() - Date.now()));
      } catch (e) {
        failures++;
        delay = Math.min(this.opts.resyncMs, 500 * 2 ** Math.min(failures, 6));
        this.logger.warn({ err: describeError(e) }, 'certificates reconcile failed; retrying');
      }
      await new Promise<void>((done) => {
        const t = setTimeout(done, delay);
        this.wake = () => {
          clearTimeout(t);
          done();
        };
      });
      this.wake = undefined;
    }
  }

  /** One pass: plan, write the Secret if the plan changed it, then caBundle. Returns when to look again. */
  async reconcile(now = new Date()): Promise<Date> {
    const { namespace, secretName } = this.opts;
    const path = `/api/v1/namespaces/${namespace}/secrets/${secretName}`;
    let secret: SecretObject | undefined;
    try {
      secret = await this.client.get<SecretObject>(path);
    } catch (e) {
      if (!isHttpStatus(e, 404)) throw e;
    }
    const reports = await listServingReports(this.client, namespace, secretName, now);
    const plan = planRotation(stateOfSecret(secret), reports, now, this.opts.settings);
    if (plan.actions.length > 0) {
      const { data, annotations } = secretDataOf(plan.state);
      const metadata = {
        name: secretName,
        namespace,
        labels: { ...secret?.metadata.labels, [MANAGED_BY_LABEL]: 'tenant-guard' },
        annotations: { ...secret?.metadata.annotations, ...annotations },
        ...(secret?.metadata.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      };
      const body = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata, data };
      // The resourceVersion makes a concurrent writer (a former leader) a 409, not a lost update.
      if (secret) await this.client.request('PUT', path, { body });
      else await this.client.request('POST', `/api/v1/namespaces/${namespace}/secrets`, { body });
      for (const a of plan.actions) this.metrics?.rotations.inc({ action: a });
      this.logger.info({ actions: plan.actions, cas: plan.state.bundle.length }, 'certificates updated');
    }
    if (plan.waitingFor && plan.state.bundle.length > 1) this.logger.info({ waitingFor: plan.waitingFor }, 'CA roll in progress: the old CA stays trusted');
    this.metrics?.bundleSize.set(plan.state.bundle.length);
    if (plan.state.serving) this.metrics?.servingExpiry.set(Date.parse(new X509Certificate(plan.state.serving.certPem).validTo) / 1000);
    this.desiredBundle = caBundleOf(plan.state);
    await this.ensureCaBundle('mutating');
    await this.ensureCaBundle('validating');
    return plan.wakeAt;
  }

  private drifted(cfg: WebhookConfiguration): boolean {
    return (cfg.webhooks ?? []).some((w) => w.clientConfig?.caBundle !== this.desiredBundle);
  }

  /** Patch caBundle into every webhook of one configuration when any differs. */
  private async ensureCaBundle(kind: keyof typeof KINDS): Promise<void> {
    const name = this.opts.webhooks[kind];
    let cfg: WebhookConfiguration;
    try {
      cfg = await this.client.get<WebhookConfiguration>(configPath(kind, name));
    } catch (e) {
      if (isHttpStatus(e, 404)) {
        this.logger.warn({ configuration: `${KINDS[kind]}/${name}` }, 'webhook configuration not found; caBundle will be set when it appears');
        return;
      }
      throw e;
    }
    if (!this.drifted(cfg)) return;
    // The test on resourceVersion turns a concurrent edit into a failed patch and a retry, not a lost edit.
    const ops: unknown[] = [{ op: 'test', path: '/metadata/resourceVersion', value: cfg.metadata.resourceVersion }];
    (cfg.webhooks ?? []).forEach((w, i) => {
      if (w.clientConfig?.caBundle === this.desiredBundle) return;
      ops.push({ op: 'add', path: w.clientConfig ? `/webhooks/${i}/clientConfig/caBundle` : `/webhooks/${i}/clientConfig`, value: w.clientConfig ? this.desiredBundle : { caBundle: this.desiredBundle } });
    });
    await this.client.request('PATCH', configPath(kind, name), { body: ops, contentType: 'application/json-patch+json' });
    this.metrics?.caBundleRepairs.inc({ configuration: kind });
    this.logger.info({ configuration: `${KINDS[kind]}/${name}`, webhooks: ops.length - 1 }, 'patched caBundle');
  }

  /** Watch one configuration by name (RBAC resourceNames allow a list/watch with a metadata.name field selector). */
  private async watchLoop(kind: keyof typeof KINDS, signal: AbortSignal): Promise<void> {
    const name = this.opts.webhooks[kind];
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.client.watch(
          configPath(kind),
          { fieldSelector: `metadata.name=${name}`, timeoutSeconds: 300, allowWatchBookmarks: false },
          (e) => {
            if ((e.type === 'ADDED' || e.type === 'MODIFIED') && this.desiredBundle !== undefined && this.drifted(e.object as WebhookConfiguration)) {
              this.logger.info({ configuration: `${KINDS[kind]}/${name}` }, 'caBundle differs from the trust bundle; repairing');
              this.poke();
            }
          },
          { signal, idleTimeoutMs: 330_000 },
        );
        failures = 0;
      } catch (e) {
        failures++;
        this.logger.warn({ err: describeError(e), configuration: `${KINDS[kind]}/${name}` }, 'webhook configuration watch failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal).catch(() => undefined);
      }
    }
  }
}
