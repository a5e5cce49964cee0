// IPv4/IPv6 addresses and CIDR ranges, for judging where an address written
// by a tenant (ServiceEntry addresses/endpoints, Endpoints, EndpointSlices,
// AuthorizationPolicy ipBlocks) can lead.

export interface IpRange {
  v6: boolean;
  base: bigint;
  bits: number;
}

// One parser, two readings. Tenant-written addresses are read leniently
// (leading zeros accepted: something downstream may still read 010.0.0.1 as
// an address, so it is judged as one). AuthorizationPolicy values are read as
// istiod does, with Go's netip (no leading zeros, `::` standing for at least
// one group, decimal prefix lengths without leading zeros): a value Go
// refuses makes istiod drop it, and the model must do the same.

function parseV4(s: string, strict: boolean): bigint | undefined {
  const parts = s.split('.');
  const octet = strict ? /^(0|[1-9][0-9]{0,2})$/ : /^[0-9]{1,3}$/;
  if (parts.length !== 4 || parts.some((p) => !octet.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function parseV6(s: string, strict: boolean): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p, strict);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(BigInt(parseInt(p, 16)));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < (strict ? 1 : 0)) return undefined;
  const all = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function address(s: string, strict: boolean): IpRange | undefined {
  if (!s.includes(':')) {
    const v4 = parseV4(s, strict);
    return v4 === undefined ? undefined : { v6: false, base: v4, bits: 32 };
  }
  const v6 = parseV6(s, strict);
  return v6 === undefined ? undefined : { v6: true, base: v6, bits: 128 };
}

function prefix(s: string, strict: boolean): IpRange | undefined {
  const slash = s.indexOf('/');
  const ip = address(slash < 0 ? s : s.slice(0, slash), strict);
  if (!ip || slash < 0) return ip;
  const bitsText = s.slice(slash + 1);
  if (!(strict ? /^(0|[1-9][0-9]*)$/ : /^[0-9]{1,3}$/).test(bitsText)) return undefined;
  const bits = Number(bitsText);
  const width = ip.v6 ? 128 : 32;
  if (bits > width) return undefined;
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v6: ip.v6, base: ip.base & mask, bits };
}

/** A literal IP address (no range), read leniently, or undefined when `s` is not one. */
export function parseIp(s: string): IpRange | undefined {
  return address(s, false);
}

/** `a.b.c.d/n`, `x::/n`, or a bare address (a /32 or /128), read leniently. */
export function parseCidr(s: string): IpRange | undefined {
  return prefix(s, false);
}

/** Go's netip.ParseAddr, as istiod reads an address. */
export function parseGoIp(s: string): IpRange | undefined {
  return address(s, true);
}

/** Go's netip.ParsePrefix (or a single address), as istiod reads an ipBlocks value. */
export function parseGoCidr(s: string): IpRange | undefined {
  return prefix(s, true);
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
