import { escapePointer, pointerOf, setMapEntry } from './patch.js';
import type { PatchOp } from './types.js';

function mapAt(obj: unknown, mapPath: string[]): Record<string, unknown> | undefined {
  let cur: unknown = obj;
  for (const seg of mapPath) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur && typeof cur === 'object' ? (cur as Record<string, unknown>) : undefined;
}

/** `setMapEntries` once the map at `mapPath` has been looked up. */
function entryOps(obj: unknown, mapPath: string[], map: Record<string, unknown> | undefined, entries: Record<string, string>, keys: string[], mapPointer: string): PatchOp[] {
  if (keys.length === 0) return [];
  let ops: PatchOp[];
  let i = 0;
  if (map) ops = [];
  else {
    // setMapEntry creates the map (and missing parents) for the first key.
    ops = setMapEntry(obj, mapPath, keys[0]!, entries[keys[0]!]!, mapPointer);
    i = 1;
  }
  const base = mapPointer + '/';
  for (; i < keys.length; i++) {
    const key = keys[i]!;
    const value = entries[key]!;
    // What setMapEntry would do per key on an existing map; keys after the
    // first on a created map are plain adds.
    const existing = map ? map[key] : undefined;
    if (existing === value) continue;
    ops.push({ op: existing === undefined ? 'add' : 'replace', path: base + escapePointer(key), value });
  }
  return ops;
}

/**
 * Ops setting several entries of one map. `setMapEntry` judges each key
 * against the original object, so two calls on a missing map would both
 * create it (the second wiping the first); here the map is created once and
 * the remaining keys are added to it.
 */
export function setMapEntries(obj: unknown, mapPath: string[], entries: Record<string, string>): PatchOp[] {
  return entryOps(obj, mapPath, mapAt(obj, mapPath), entries, Object.keys(entries), pointerOf(mapPath));
}

/** The current value of `obj[...mapPath][key]`, when it is a string. */
export function mapValue(obj: unknown, mapPath: string[], key: string): string | undefined {
  const v = mapAt(obj, mapPath)?.[key];
  return typeof v === 'string' ? v : undefined;
}

export interface LabelChange {
  key: string;
  from: string;
  to: string;
}

// The usual answer: nothing overwritten (shared, never written to).
const NO_CHANGES: readonly LabelChange[] = Object.freeze([]);

/**
 * Ops making the labels at `mapPath` hold `entries`, plus the entries whose
 * existing value was overwritten (the caller says so in a warning).
 * `mapPointer`: the JSON Pointer of `mapPath`, when the caller has it already.
 */
export function ensureLabels(obj: unknown, mapPath: string[], entries: Record<string, string>, mapPointer = pointerOf(mapPath)): { ops: PatchOp[]; replaced: readonly LabelChange[] } {
  const map = mapAt(obj, mapPath);
  const keys = Object.keys(entries);
  let replaced: LabelChange[] | undefined;
  if (map) {
    for (const key of keys) {
      const from = map[key];
      const to = entries[key]!;
      if (typeof from === 'string' && from !== to) (replaced ??= []).push({ key, from, to });
    }
  }
  return { ops: entryOps(obj, mapPath, map, entries, keys, mapPointer), replaced: replaced ?? NO_CHANGES };
}
