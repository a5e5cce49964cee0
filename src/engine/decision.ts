import { MessageText } from '../kube/message-text.js';
import type { Decision, PatchOp, Violation } from './types.js';

/**
 * Accumulates one decision; `build()` derives `allowed` from the violations.
 * The lists are created on first use: most builders (the checks run before
 * every handler, most handlers' warnings) never get an entry.
 */
export class DecisionBuilder {
  private violations?: Violation[];
  private warnings?: string[];
  private warningTexts?: Map<string, MessageText>;
  private patch?: PatchOp[];
  /** Warnings about what the patch does: dropped with the patch when the request is denied. */
  private patchWarnings?: string[];

  /** A message naming other objects is given as a MessageText (src/kube/message-text.ts) so each reader gets what they may see. */
  violate(rule: string, path: string, message: string | MessageText): this {
    const v: Violation = { rule, path, message: String(message) };
    if (message instanceof MessageText && message.namesTenantObjects) setText(v, message);
    (this.violations ??= []).push(v);
    return this;
  }

  warn(message: string | MessageText): this {
    const warnings = (this.warnings ??= []);
    const full = String(message);
    if (!warnings.includes(full)) warnings.push(full);
    if (message instanceof MessageText && message.namesTenantObjects) (this.warningTexts ??= new Map()).set(full, message);
    return this;
  }

  /** A warning that announces a patch's effect; it goes out only if the patch does (the request is allowed). */
  warnPatched(message: string): this {
    const list = (this.patchWarnings ??= []);
    if (!list.includes(message)) list.push(message);
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
      warnings: allowed && this.patchWarnings ? [...(this.warnings ?? []), ...this.patchWarnings.filter((w) => !this.warnings?.includes(w))] : (this.warnings ??= []),
      // A denied request is not mutated: the API server ignores the patch anyway.
      patch: allowed ? (this.patch ??= []) : [],
    };
    if (this.warningTexts) d.warningTexts = this.warningTexts;
    // Kept aside for the enforcement step, which may admit the request after all (enforcement.ts).
    if (!allowed && this.patch && this.patch.length > 0) d.heldPatch = this.patch;
    return d;
  }
}

/**
 * Attach a violation's structured message. Not enumerable: JSON outputs
 * (`check -o json`, `audit -o json`) and object spreads see only `message`,
 * the full rendering; copy it to a derived violation with `keepText`.
 */
function setText(v: Violation, text: MessageText): void {
  Object.defineProperty(v, 'text', { value: text, enumerable: false, writable: true, configurable: true });
}

/** `to`, a copy of violation `from` (with fields added), keeping its structured message. */
export function keepText<V extends Violation>(from: Violation, to: V): V {
  if (from.text) setText(to, from.text);
  return to;
}

/** Marks a warning that announces a patch ("RULE at PATH (patched): ..."): it goes away with the patch when a request is denied. */
export const PATCHED_MARK = ' (patched): ';

/** The warnings a denied request keeps: none that announce a patch it will not get. */
export function withoutPatchWarnings(warnings: string[]): string[] {
  return warnings.some((w) => w.includes(PATCHED_MARK)) ? warnings.filter((w) => !w.includes(PATCHED_MARK)) : warnings;
}

export function notIntercepted(): Decision {
  return { allowed: true, intercepted: false, violations: [], warnings: [], patch: [] };
}
