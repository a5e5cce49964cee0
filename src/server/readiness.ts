/**
 * Readiness as a set of named conditions that all must hold: "config"
 * (a valid tenancy config is loaded), "state" (the cluster state has synced,
 * when connected to a cluster) and "serving" (false from the start of a
 * shutdown, so the pod leaves the Service endpoints before the listener
 * closes).
 */
export class Readiness {
  private readonly pending = new Map<string, () => boolean>();

  /** Add a condition, evaluated on every probe. */
  require(name: string, check: () => boolean): this {
    this.pending.set(name, check);
    return this;
  }

  /** Names of the conditions that do not hold. */
  unmet(): string[] {
    const out: string[] = [];
    for (const [name, check] of this.pending) {
      let ok = false;
      try {
        ok = check();
      } catch {
        ok = false;
      }
      if (!ok) out.push(name);
    }
    return out;
  }

  isReady(): boolean {
    return this.unmet().length === 0;
  }
}
