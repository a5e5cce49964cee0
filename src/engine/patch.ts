import type { PatchOp } from './types.js';

/** RFC 6901 escaping of one JSON Pointer segment. */
export function escapePointer(segment: string): string {
  // Nearly every segment (field names, indexes, label keys without '/') needs
  // no escaping: skip the two regex passes for them.
  if (segment.indexOf('~') < 0) return segment.indexOf('/') < 0 ? segment : segment.replaceAll('/', '~1');
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointer(...segments: (string | number)[]): string {
  return pointerOf(segments);
}

/** `pointer` over an array (no spread of path segments at the call site). */
export function pointerOf(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += '/' + escapePointer(String(s));
  return out;
}

/**
 * Ops that make `obj[...mapPath][key] === value`, creating the map (and any
 * missing parent objects) when absent. Emits nothing when already set.
 * `mapPointer`: `pointerOf(mapPath)`, when the caller has it precomputed.
 */
export function setMapEntry(obj: unknown, mapPath: string[], key: string, value: string, mapPointer?: string): PatchOp[] {
  // At most one op, returned as a literal: an empty array grown by push reserves spare room.
  let cur: unknown = obj;
  for (let i = 0; i < mapPath.length; i++) {
    const next = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[mapPath[i]!] : undefined;
    if (next === undefined || next === null) {
      // Build the rest of the path as one nested value.
      let value_: unknown = { [key]: value };
      for (let j = mapPath.length - 1; j > i; j--) value_ = { [mapPath[j]!]: value_ };
      const path = mapPointer !== undefined && i === mapPath.length - 1 ? mapPointer : pointerOf(mapPath.slice(0, i + 1));
      return [{ op: 'add', path, value: value_ }];
    }
    cur = next;
  }
  const existing = (cur as Record<string, unknown>)[key];
  if (existing === value) return [];
  return [{ op: existing === undefined ? 'add' : 'replace', path: (mapPointer ?? pointerOf(mapPath)) + '/' + escapePointer(key), value }];
}
