/** A warning as `check -o json|yaml` prints it and PolicyReports carry it. */
export interface StructuredWarning {
  /** The rule id, or null for a notice that belongs to no rule (a label tenant-guard set, a namespace changing tenant). */
  rule: string | null;
  /** The field the warning is about, or "" when it is about the whole object. */
  path: string;
  message: string;
}

// The engine's warning forms: "RULE at PATH (not enforced ...): message", "RULE: message" (src/engine/*).
const WITH_RULE = /^(TG-[A-Z0-9]+(?:-[A-Z0-9]+)*)(?: at (\S+))?(?: \(([^)]*)\))?: ([\s\S]*)$/;

/** The engine's warning string, split into rule id, field path and message. */
export function structuredWarning(text: string): StructuredWarning {
  const m = WITH_RULE.exec(text);
  if (!m) return { rule: null, path: '', message: text };
  const note = m[3] ? `(${m[3]}) ` : '';
  return { rule: m[1]!, path: m[2] ?? '', message: `${note}${m[4]!}` };
}
