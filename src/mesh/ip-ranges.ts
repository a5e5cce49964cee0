// IPv4/IPv6 addresses and CIDR ranges, for judging where an address written
// by a tenant (ServiceEntry addresses/endpoints, Endpoints, EndpointSlices,
// AuthorizationPolicy ipBlocks) can lead.

export interface IpRange {
  v6: boolean;
  base: bigint;
  bits: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]) n = (n << 16n) | BigInt(g);
  return n;
}

/** A literal IP address (no range), or undefined when `s` is not one. */
export function parseIp(s: string): IpRange | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v6: false, base: v4, bits: 32 };
  const v6 = parseV6(s);
  return v6 === undefined ? undefined : { v6: true, base: v6, bits: 128 };
}

/** `a.b.c.d/n`, `x::/n`, or a bare address (a /32 or /128). */
export function parseCidr(s: string): IpRange | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  if (slash < 0) return ip;
  const bitsText = s.slice(slash + 1);
  const bits = Number(bitsText);
  if (!/^[0-9]{1,3}$/.test(bitsText) || bits > (ip.v6 ? 128 : 32)) return undefined;
  const width = ip.v6 ? 128 : 32;
  const mask = ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v6: ip.v6, base: ip.base & mask, bits };
}

/** Whether `inner` lies wholly inside `outer`. */
export function rangeWithin(inner: IpRange, outer: IpRange): boolean {
  if (inner.v6 !== outer.v6 || inner.bits < outer.bits) return false;
  const width = BigInt(inner.v6 ? 128 : 32);
  const shift = width - BigInt(outer.bits);
  return inner.base >> shift === outer.base >> shift;
}

/** Whether two ranges share any address. */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return rangeWithin(a, b) || rangeWithin(b, a);
}

/**
 * Ranges that are never outside the cluster from a pod's point of view when
 * the cluster's own ranges are not configured: RFC 1918, carrier-grade NAT
 * (RFC 6598), loopback, link-local (cloud metadata endpoints), IPv6 ULA and
 * link-local. Pod and Service CIDRs of every common distribution fall in them.
 */
export const PRIVATE_RANGES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '0.0.0.0/8',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
  '::/128',
  // IPv4-mapped IPv6 addresses reach the IPv4 address they carry.
  '::ffff:0:0/96',
];
