// coordination.k8s.io/v1 Lease helpers for the per-replica serving reports
// (serving-report.ts). Leader election itself is leader-election.ts: one
// elector, one Lease, for every leader-only controller.
// https://kubernetes.io/docs/concepts/architecture/leases/

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
