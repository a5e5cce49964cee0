import { pointer, setMapEntry } from './patch.js';
import type { PatchOp } from './types.js';

function mapAt(obj: unknown, mapPath: string[]): Record<string, unknown> | undefined {
  let cur: unknown = obj;
  for (const seg of mapPath) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur && typeof cur === 'object' ? (cur as Record<string, unknown>) : undefined;
}

/**
 * Ops setting several entries of one map. `setMapEntry` judges each key
 * against the original object, so two calls on a missing map would both
 * create it (the second wiping the first); here the map is created once and
 * the remaining keys are added to it.
 */
export function setMapEntries(obj: unknown, mapPath: string[], entries: Record<string, string>): PatchOp[] {
  const keys = Object.keys(entries);
  if (keys.length === 0) return [];
  if (mapAt(obj, mapPath)) return keys.flatMap((k) => setMapEntry(obj, mapPath, k, entries[k]!));
  const [first, ...rest] = keys;
  const ops = setMapEntry(obj, mapPath, first!, entries[first!]!);
  for (const k of rest) ops.push({ op: 'add', path: pointer(...mapPath, k), value: entries[k]! });
  return ops;
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

/**
 * Ops making the labels at `mapPath` hold `entries`, plus the entries whose
 * existing value was overwritten (the caller says so in a warning).
 */
export function ensureLabels(obj: unknown, mapPath: string[], entries: Record<string, string>): { ops: PatchOp[]; replaced: LabelChange[] } {
  const replaced: LabelChange[] = [];
  for (const [key, to] of Object.entries(entries)) {
    const from = mapValue(obj, mapPath, key);
    if (from !== undefined && from !== to) replaced.push({ key, from, to });
  }
  return { ops: setMapEntries(obj, mapPath, entries), replaced };
}
