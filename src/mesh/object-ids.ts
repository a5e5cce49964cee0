/**
 * Numbers objects by identity, for cache keys built as strings: the same
 * object always gets the same number, and an object dropped is forgotten
 * (WeakMap), so the numbering holds nothing alive.
 */
export function objectIds<T extends object>(): (x: T) => number {
  const ids = new WeakMap<T, number>();
  let next = 0;
  return (x) => {
    let id = ids.get(x);
    if (id === undefined) ids.set(x, (id = next++));
    return id;
  };
}
