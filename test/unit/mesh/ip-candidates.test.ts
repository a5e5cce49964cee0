// The addresses the search tries for source.ip / remote.ip / destination.ip
// (candidates.ts ipCandidates) must meet every combination of the blocks'
// memberships that some address meets: found by the reachability
// differential test against the Istio oracle (test/oracle/reach), where an
// ALLOW admitting remote addresses outside 0.0.0.0/0 and 2001:db8::/32 was
// judged closed although any other IPv6 address (X-Forwarded-For is the
// caller's) gets in.
import fc from 'fast-check';
import t from 'tap';
import { ipCandidates } from '../../../src/mesh/candidates.js';
import { cidrContains } from '../../../src/mesh/istio-match.js';
import { MeshState } from '../../../src/mesh/mesh-state.js';
import { reachNamespace } from '../../../src/mesh/reach.js';
import { ap, config, referenceState } from './reference-state.js';

const SEED = Number(process.env.TG_PROPERTY_SEED ?? Date.now() % 2 ** 31);

t.test('an address outside blocks that cover all of IPv4 and the IPv6 documentation range', async (t) => {
  const blocks = ['0.0.0.0/0', '2001:db8::/32'];
  t.ok(
    ipCandidates(blocks).some((ip) => blocks.every((b) => !cidrContains(b, ip))),
    'some candidate lies in neither block',
  );
  t.ok(ipCandidates(['0.0.0.0/0', '::/0']).every((ip) => cidrContains('0.0.0.0/0', ip) || cidrContains('::/0', ip)), 'nothing lies outside both families');
});

t.test('the reachability check finds the IPv6 caller such a rule admits', async (t) => {
  const allowOutside = ap('tenant-1', 'outside', { action: 'ALLOW', rules: [{ from: [{ source: { notRemoteIpBlocks: ['0.0.0.0/0', '2001:db8::/32'] } }] }] });
  const state = referenceState('kind');
  state.remove({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'tenant-1', name: 'allow-same-tenant-and-knative' } } as never);
  for (const o of state.list('security.istio.io/AuthorizationPolicy', 'tenant-1')) state.remove(o);
  state.upsert(allowOutside);
  const r = reachNamespace(new MeshState(state, config()), 'direct', { kind: 'foreign', tenant: 'tenant-1' }, 'tenant-1');
  t.ok(r.allowed, r.reason);
});

// Every set of memberships some address has is met by a candidate: checked
// over a universe holding, for each block, the addresses at and around both
// of its edges, and each family's extremes (an interval's membership pattern
// changes only at edges).
const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 })).map(([a, b, bits]) => `${a}.${b}.0.0/${bits}`);
const v6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 128 })).map(([g, bits]) => `${g.toString(16)}::/${bits}`);

function format(v6: boolean, n: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

function edges(block: string): string[] {
  const [addr, bitsText] = block.split('/');
  const v6 = addr!.includes(':');
  const width = v6 ? 128n : 32n;
  const base = v6 ? BigInt(`0x${addr!.replace('::', '')}`) << 112n : addr!.split('.').reduce((n, x) => (n << 8n) + BigInt(x), 0n);
  const host = width - BigInt(bitsText!);
  const start = (base >> host) << host;
  const end = start + (1n << host) - 1n;
  const max = (1n << width) - 1n;
  return [start - 1n, start, end, end + 1n].filter((n) => n >= 0n && n <= max).map((n) => format(v6, n));
}

t.test('candidates meet every membership pattern an address can have', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 5 }), (blocks) => {
      const sig = (ip: string) => blocks.map((b) => (cidrContains(b, ip) ? '1' : '0')).join('') + (ip.includes(':') ? '6' : '4');
      const have = new Set(ipCandidates(blocks).map(sig));
      const universe = [...blocks.flatMap(edges), '0.0.0.0', '255.255.255.255', format(true, 0n), format(true, (1n << 128n) - 1n)];
      return universe.every((ip) => have.has(sig(ip)));
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass(`seed ${SEED}`);
});
