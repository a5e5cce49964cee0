import type { Decision, PatchOp, Violation } from './types.js';

/**
 * Accumulates one decision; `build()` derives `allowed` from the violations.
 * The lists are created on first use: most builders (the checks run before
 * every handler, most handlers' warnings) never get an entry.
 */
export class DecisionBuilder {
  private violations?: Violation[];
  private warnings?: string[];
  private patch?: PatchOp[];

  violate(rule: string, path: string, message: string): this {
    (this.violations ??= []).push({ rule, path, message });
    return this;
  }

  warn(message: string): this {
    const warnings = (this.warnings ??= []);
    if (!warnings.includes(message)) warnings.push(message);
    return this;
  }

  add(...ops: PatchOp[]): this {
    (this.patch ??= []).push(...ops);
    return this;
  }

  hasViolations(): boolean {
    return this.violations !== undefined && this.violations.length > 0;
  }

  build(): Decision {
    const violations = (this.violations ??= []);
    const allowed = violations.length === 0;
    const d: Decision = {
      allowed,
      intercepted: true,
      violations,
      warnings: (this.warnings ??= []),
      // A denied request is not mutated: the API server ignores the patch anyway.
      patch: allowed ? (this.patch ??= []) : [],
    };
    // Kept aside for the enforcement step, which may admit the request after all (enforcement.ts).
    if (!allowed && this.patch && this.patch.length > 0) d.heldPatch = this.patch;
    return d;
  }
}

export function notIntercepted(): Decision {
  return { allowed: true, intercepted: false, violations: [], warnings: [], patch: [] };
}
