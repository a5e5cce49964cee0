import type { Decision, PatchOp, Violation } from './types.js';

/** Accumulates one decision; `build()` derives `allowed` from the violations. */
export class DecisionBuilder {
  private readonly violations: Violation[] = [];
  private readonly warnings: string[] = [];
  private readonly patch: PatchOp[] = [];

  violate(rule: string, path: string, message: string): this {
    this.violations.push({ rule, path, message });
    return this;
  }

  warn(message: string): this {
    if (!this.warnings.includes(message)) this.warnings.push(message);
    return this;
  }

  add(...ops: PatchOp[]): this {
    this.patch.push(...ops);
    return this;
  }

  hasViolations(): boolean {
    return this.violations.length > 0;
  }

  build(): Decision {
    const allowed = this.violations.length === 0;
    return {
      allowed,
      intercepted: true,
      violations: this.violations,
      warnings: this.warnings,
      // A denied request is not mutated: the API server ignores the patch anyway.
      patch: allowed ? this.patch : [],
    };
  }
}

export function notIntercepted(): Decision {
  return { allowed: true, intercepted: false, violations: [], warnings: [], patch: [] };
}
