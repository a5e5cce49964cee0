/**
 * Who may write. Every replica serves admission; only the leader runs the
 * controllers that write (the certificates of mode self, PolicyReports).
 * leader-election.ts implements it with a coordination.k8s.io Lease (one for
 * every leader-only controller).
 */
export interface Leadership {
  isLeader(): boolean;
  /** Called with the new value whenever leadership is gained or lost; returns an unsubscribe. */
  onChange(cb: (leader: boolean) => void): () => void;
}

/** A Leadership that never changes: a single-process run (tests, `audit --report`). */
export function fixedLeadership(leader: boolean): Leadership {
  return { isLeader: () => leader, onChange: () => () => undefined };
}
