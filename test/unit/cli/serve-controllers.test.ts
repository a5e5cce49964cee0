import t from 'tap';
import { serveOptions } from '../../../src/cli/serve.js';
import { parseLongDuration } from '../../../src/cli/serve-controllers.js';

const base = ['--kubeconfig', 'kc.yaml', '--self-certs', 'tg/tg-tls', '--cert-dns', 'tg.tg.svc', '--mutating-webhook', 'tg', '--validating-webhook', 'tg', '--replica', 'pod-0'];
const opts = (argv: string[]) => {
  const r = serveOptions(['--config', 'c.yaml', ...argv]);
  if (r === 'help') throw new Error('help');
  return r.options;
};

t.test('mode self: defaults, and the leader Lease in the Secret\'s namespace', async (t) => {
  const c = opts(base).certsAndReports!;
  t.same(c.leaderLease, { namespace: 'tg', name: 'tenant-guard-leader' });
  t.equal(c.replica, 'pod-0');
  t.match(c.selfCerts, {
    namespace: 'tg',
    secretName: 'tg-tls',
    webhooks: { mutating: 'tg', validating: 'tg' },
    settings: { dnsNames: ['tg.tg.svc'], ipAddresses: [], caLifetimeMs: 365 * 86_400_000, servingLifetimeMs: 90 * 86_400_000, settleMs: 30_000, overlapMs: 120_000 },
  });
  t.equal(c.policyReportsIntervalMs, undefined);
});

t.test('durations take d, h, m, s and ms', async (t) => {
  t.equal(parseLongDuration('--x', '90d'), 90 * 86_400_000);
  t.equal(parseLongDuration('--x', '1.5h'), 5_400_000);
  t.equal(parseLongDuration('--x', '500ms'), 500);
  t.throws(() => parseLongDuration('--x', '10'), { code: 'TG_ERR_USAGE' });
});

const refused: [string, string[], RegExp][] = [
  ['no cluster', ['--self-certs', 'tg/s', '--cert-dns', 'a', '--mutating-webhook', 'm', '--validating-webhook', 'v'], /add --kubeconfig or --in-cluster/],
  ['a Secret without namespace', [...base.slice(0, 2), '--self-certs', 'tls', ...base.slice(4)], /NAMESPACE\/SECRET/],
  ['no SAN', base.filter((a, i) => a !== '--cert-dns' && base[i - 1] !== '--cert-dns'), /--cert-dns/],
  ['no webhook configuration names', base.slice(0, 6), /--mutating-webhook/],
  ['a serving certificate outliving its CA', [...base, '--ca-validity', '30d', '--cert-validity', '60d'], /cannot be longer/],
  ['a renewal fraction of 1', [...base, '--renew-at', '1'], /--renew-at/],
  ['mode self with a certificate file', [...base, '--tls-cert', 'a', '--tls-key', 'b'], /drop --tls-cert/],
  ['a mode self flag without --self-certs', ['--kubeconfig', 'k', '--cert-dns', 'a'], /--cert-dns is a flag of certificates mode self/],
  ['PolicyReports without a Lease namespace', ['--kubeconfig', 'k', '--policy-reports', '10m'], /--leader-lease NAMESPACE\/NAME/],
  ['PolicyReports too often', ['--kubeconfig', 'k', '--policy-reports', '1s', '--leader-lease', 'a/b'], /at least 10s/],
  ['--leader-lease alone', ['--kubeconfig', 'k', '--leader-lease', 'a/b'], /--self-certs or --policy-reports/],
];
for (const [what, argv, message] of refused) {
  t.test(`refused: ${what}`, async (t) => {
    t.throws(() => serveOptions(argv), { code: 'TG_ERR_USAGE', message });
  });
}

t.test('PolicyReports alone: their own Lease', async (t) => {
  const c = opts(['--in-cluster', '--policy-reports', '10m', '--leader-lease', 'ops/tg-leader', '--replica', 'r']).certsAndReports!;
  t.same(c, { leaderLease: { namespace: 'ops', name: 'tg-leader' }, replica: 'r', policyReportsIntervalMs: 600_000 });
});
