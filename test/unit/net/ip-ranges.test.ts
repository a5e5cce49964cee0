import t from 'tap';
import { parseCidr, parseIp, rangesOverlap, rangeWithin } from '../../../src/net/ip-ranges.js';
import { parseTenancyConfig } from '../../../src/config/load.js';

t.test('parse IPv4, IPv6 and CIDRs', async (t) => {
  t.same(parseIp('10.1.2.3'), { v6: false, base: 0x0a010203n, bits: 32 });
  t.equal(parseIp('10.1.2.256'), undefined);
  t.equal(parseIp('10.1.2'), undefined);
  t.equal(parseIp('example.com'), undefined);
  t.equal(parseIp('fd00::1')?.v6, true);
  t.equal(parseIp('::ffff:10.0.0.1')?.base, 0xffff0a000001n);
  t.equal(parseIp('1:2:3:4:5:6:7:8:9'), undefined);
  t.equal(parseIp('1::2::3'), undefined);
  t.same(parseCidr('10.244.1.7/16'), { v6: false, base: 0x0af40000n, bits: 16 }, 'host bits cleared');
  t.equal(parseCidr('10.0.0.0/33'), undefined);
  t.equal(parseCidr('fd00::/129'), undefined);
});

t.test('containment and overlap', async (t) => {
  const c = (s: string) => parseCidr(s)!;
  t.ok(rangeWithin(c('10.244.1.7'), c('10.244.0.0/16')));
  t.notOk(rangeWithin(c('10.0.0.0/8'), c('10.244.0.0/16')));
  t.ok(rangesOverlap(c('10.0.0.0/8'), c('10.244.0.0/16')), 'a wider range overlaps');
  t.ok(rangesOverlap(c('0.0.0.0/0'), c('192.168.1.1')));
  t.notOk(rangesOverlap(c('fd00::/8'), c('10.0.0.0/8')), 'families never overlap');
  t.ok(rangeWithin(c('fd12::5'), c('fc00::/7')));
});

t.test('the config refuses CIDRs it cannot read, naming the field', async (t) => {
  const base = { apiVersion: 'tenant-guard.dev/v1alpha1', kind: 'TenancyConfig' };
  t.throws(() => parseTenancyConfig({ ...base, clusterNetwork: { podCIDRs: ['10.0.0.300/8'] } }, 'x.yaml'), /x\.yaml: clusterNetwork\.podCIDRs\.0: "10\.0\.0\.300\/8" is not an IPv4 or IPv6 CIDR/);
  t.throws(() => parseTenancyConfig({ ...base, clusterNetwork: { nodeCIDRs: ['nodes'] } }, 'x.yaml'), /clusterNetwork\.nodeCIDRs\.0/);
  t.throws(() => parseTenancyConfig({ ...base, rootContainers: 'mutate' }, 'x.yaml'), /rootContainers/);
  const ok = parseTenancyConfig({ ...base, clusterNetwork: { serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'] } }, 'x.yaml');
  t.same(ok.clusterNetwork, { serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'], podCIDRs: [], nodeCIDRs: [] });
  t.equal(ok.rootContainers, 'drop', 'default');
});
