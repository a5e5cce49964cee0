import type { LeaderElectionTimings } from './leader-election.js';

/**
 * Leader election timings from the lease duration alone, in client-go's
 * default ratios (15 s / 10 s / 2 s): renew deadline 2/3 and retry period
 * 2/15 of it. A module of its own so `serve`'s flag parsing does not load
 * the Kubernetes client.
 */
export function timingsFor(leaseDurationMs: number): LeaderElectionTimings {
  return { leaseDurationMs, renewDeadlineMs: Math.round((leaseDurationMs * 2) / 3), retryPeriodMs: Math.max(100, Math.round((leaseDurationMs * 2) / 15)) };
}
