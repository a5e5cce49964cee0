// When an exception of the config ends (docs/enforcement.md): read when the
// config is loaded and when the engine applies it.

/** Epoch ms at which `expires` ends: a date is valid through that day (UTC). Undefined when unreadable. */
export function expiryOf(expires: string): number | undefined {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(expires);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const t = Date.UTC(y, m - 1, d + 1);
    // Date.UTC rolls 2027-02-30 over to March: refuse dates that do not exist.
    const back = new Date(Date.UTC(y, m - 1, d));
    return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d ? t : undefined;
  }
  const t = Date.parse(expires);
  return Number.isNaN(t) ? undefined : t;
}
