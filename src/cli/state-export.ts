import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterState, GroupKind } from '../cluster/state.js';
import { describeFsError, TenantGuardError } from '../errors.js';
import type { KubeObject } from '../engine/types.js';

/** What the API server adds that no rule reads: dropped so the export stays small and diffable. */
function stripped(o: KubeObject): KubeObject {
  const { managedFields: _m, ...metadata } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return { ...o, metadata };
}

/** A file name per kind: `<kind>.<group>.yaml` (`<kind>.yaml` for the core group), lowercase. */
export function stateFileName(gk: GroupKind): string {
  const slash = gk.indexOf('/');
  const [group, kind] = slash < 0 ? ['', gk] : [gk.slice(0, slash), gk.slice(slash + 1)];
  return `${kind.toLowerCase()}${group ? `.${group}` : ''}.yaml`;
}

/**
 * Writes the state as `check --state DIR` reads it: one multi-document YAML
 * file per kind, objects sorted by namespace and name. DIR must be empty or
 * absent, so an export never mixes with a stale one. Returns the object count.
 */
export function exportState(state: ClusterState, kinds: GroupKind[], dir: string): { files: number; objects: number } {
  let existing: string[] = [];
  try {
    existing = readdirSync(dir);
  } catch {
    // absent: created below
  }
  if (existing.length > 0) throw new TenantGuardError('TG_ERR_USAGE', `--export-state ${dir}: the directory is not empty (an export never mixes with an older one)`);
  let files = 0;
  let objects = 0;
  try {
    mkdirSync(dir, { recursive: true });
    for (const gk of [...new Set(kinds)].sort()) {
      const list = state
        .list(gk)
        .slice()
        .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`));
      if (list.length === 0) continue;
      writeFileSync(join(dir, stateFileName(gk)), list.map((o) => `---\n${stringify(stripped(o), { lineWidth: 0 })}`).join(''));
      files++;
      objects += list.length;
    }
  } catch (e) {
    throw new TenantGuardError('TG_ERR_INPUT_INVALID', `--export-state ${dir}: cannot write: ${describeFsError(e)}`);
  }
  return { files, objects };
}
