// Leader election on a coordination.k8s.io/v1 Lease, the object client-go's
// leaderelection package uses (LeaseLock): the holder renews spec.renewTime
// every `retryMs`; another candidate takes over once renewTime is older than
// leaseDurationSeconds. Updates carry the resourceVersion read, so two
// candidates racing for an expired Lease cannot both win (409 Conflict).
// https://kubernetes.io/docs/concepts/architecture/leases/
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
import type { Leadership } from './leadership.js';

export interface LeaseElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** How often the holder renews and a candidate retries. */
  retryMs: number;
}

export const DEFAULT_LEASE_TIMING = { leaseDurationMs: 15_000, retryMs: 2_000 };

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; acquireTime?: string; leaseTransitions?: number };
}

/** MicroTime: RFC 3339 with exactly six fractional digits (metav1.RFC3339Micro). */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases${name ? `/${name}` : ''}`;
}

/** Whether a Lease's holder renewed it within its duration. */
export function leaseLive(lease: Lease, now: Date): boolean {
  const renew = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return !Number.isNaN(renew) && renew + duration > now.getTime();
}

export class LeaseElection implements Leadership {
  private leader = false;
  private readonly listeners = new Set<(leader: boolean) => void>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastRenew = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaseElectionOptions,
    private readonly logger: Logger,
  ) {}

  isLeader(): boolean {
    return this.leader;
  }

  onChange(cb: (leader: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  start(): this {
    void this.tick();
    return this;
  }

  /** Stop campaigning; a holder releases the Lease so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leader) return;
    this.set(false);
    try {
      const lease = await this.client.get<Lease>(leasePath(this.opts.namespace, this.opts.name));
      if (lease.spec?.holderIdentity === this.opts.identity) {
        await this.client.request('PUT', leasePath(this.opts.namespace, this.opts.name), {
          body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined, leaseDurationSeconds: 1 } },
        });
      }
    } catch (e) {
      this.logger.warn({ err: describeError(e) }, 'could not release the leader Lease; it expires by itself');
    }
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity, leader }, leader ? 'became leader' : 'lost leadership');
    for (const cb of this.listeners) cb(leader);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const leader = await this.tryAcquireOrRenew(new Date());
      if (leader) this.lastRenew = Date.now();
      this.set(leader);
    } catch (e) {
      // A holder that cannot renew steps down before its Lease can expire under another candidate.
      if (this.leader && Date.now() - this.lastRenew > this.opts.leaseDurationMs / 2) this.set(false);
      if (!isHttpStatus(e, 409)) this.logger.warn({ err: describeError(e) }, 'leader election attempt failed');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.opts.retryMs);
      this.timer.unref();
    }
  }

  private async tryAcquireOrRenew(now: Date): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000), renewTime: microTime(now) };
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(leasePath(namespace, name));
    } catch (e) {
      if (!isHttpStatus(e, 404)) throw e;
      await this.client.request('POST', leasePath(namespace), {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 } },
      });
      return true;
    }
    const mine = lease.spec?.holderIdentity === identity;
    if (!mine && lease.spec?.holderIdentity && leaseLive(lease, now)) return false;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (mine ? 0 : 1);
    await this.client.request('PUT', leasePath(namespace, name), {
      body: { ...lease, spec: { ...lease.spec, ...spec, leaseTransitions: transitions, ...(mine ? {} : { acquireTime: microTime(now) }) } },
    });
    return true;
  }
}
