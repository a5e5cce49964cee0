import t from 'tap';
import { parseDuration, runServe, serveOptions } from '../../../src/cli/serve.js';
import { fakeIO } from './fake-io.js';
import { DEFAULT_RULES_URL } from '../../../src/reports/rule-links.js';

const C = ['--config', 'c.yaml'];

t.test('defaults: loopback 8443, development certs in ./certs, empty state', async (t) => {
  t.same(serveOptions(C), {
    options: { host: '127.0.0.1', port: 8443, tls: { certsDir: 'certs' }, statePaths: [], configFile: 'c.yaml', shutdownDelayMs: 5000, rulesUrl: DEFAULT_RULES_URL },
    logLevel: 'info',
  });
});

t.test('--config is required: no silent demo tenants; the error is one line and a pointer to --help', async (t) => {
  t.throws(() => serveOptions([]), { code: 'TG_ERR_USAGE', message: /missing --config: serve needs the tenancy config/ });
  const io = fakeIO(t.testdirName);
  t.equal(await runServe(['--port', '1'], io), 2);
  t.equal(io.err(), `TG_ERR_USAGE: ${(() => { try { serveOptions([]); } catch (e) { return (e as Error).message; } return ''; })()}\nsee 'tenant-guard serve --help'\n`);
});

t.test('flags', async (t) => {
  const r = serveOptions([
    '--host', '0.0.0.0', '--port', '9443', '--tls-cert', 'a.crt', '--tls-key', 'a.key', '--config', 'c.yaml',
    '--state', 'a', '--state', 'b', '--log-level', 'DEBUG', '--shutdown-delay', '500ms',
  ]);
  t.same(r, {
    options: { host: '0.0.0.0', port: 9443, tls: { certFile: 'a.crt', keyFile: 'a.key' }, statePaths: ['a', 'b'], configFile: 'c.yaml', shutdownDelayMs: 500, rulesUrl: DEFAULT_RULES_URL },
    logLevel: 'debug',
  });
  t.same(serveOptions([...C, '--in-cluster']) !== 'help' && (serveOptions([...C, '--in-cluster']) as { options: { cluster: unknown } }).options.cluster, { inCluster: true });
  t.equal(serveOptions(['-h']), 'help');
  t.match(serveOptions([...C, '--log-decisions', 'all']), { options: { decisionLog: 'all' } }, 'the full decision log');
});

t.test('durations', async (t) => {
  t.equal(parseDuration('--d', '5s'), 5000);
  t.equal(parseDuration('--d', '1.5'), 1500);
  t.equal(parseDuration('--d', '250ms'), 250);
  t.equal(parseDuration('--d', '1m'), 60000);
  t.throws(() => parseDuration('--d', '-1s'), { code: 'TG_ERR_USAGE' });
});

t.test('invalid combinations are usage errors', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--tls-cert', 'a'], /--tls-cert and --tls-key go together/],
    [['--tls-cert', 'a', '--tls-key', 'b', '--certs-dir', 'c'], /cannot be combined with --tls-cert/],
    [['--kubeconfig', 'k', '--in-cluster'], /exclusive/],
    [['--in-cluster', '--state', 'x'], /--state seeds an offline state/],
    [['--port', '70000'], /--port must be a number from 0 to 65535/],
    [['--log-level', 'loud'], /--log-level must be one of fatal, error, warn, info, debug, trace/],
    [['--shutdown-delay', 'soon'], /--shutdown-delay must be a duration/],
    [['--log-decisions', 'some'], /--log-decisions must be one of denials, all/],
    [['positional'], /Unexpected argument 'positional'/],
    [['--client-cn', 'kube-apiserver'], /--client-cn names the accepted API server certificate: it needs --client-ca/],
    [['--client-ca', 'ca.crt', '--client-cn', ' '], /--client-cn must not be empty/],
  ];
  for (const [argv, re] of cases) {
    t.throws(() => serveOptions(argv), { code: 'TG_ERR_USAGE', message: re }, argv.join(' '));
    const io = fakeIO(t.testdirName);
    t.equal(await runServe(argv, io), 2);
    t.match(io.err(), /^TG_ERR_USAGE: [^\n]+\nsee 'tenant-guard serve --help'\n$/, 'one line and a pointer to --help');
  }
});

t.test('--controllers: leader election options', async (t) => {
  const saved = process.env.POD_NAMESPACE;
  delete process.env.POD_NAMESPACE;
  t.teardown(() => {
    if (saved !== undefined) process.env.POD_NAMESPACE = saved;
  });
  const r = serveOptions([...C, '--kubeconfig', 'k', '--controllers']) as { options: { controllers: unknown } };
  t.same(r.options.controllers, { leaseNamespace: 'tenant-guard', leaseName: 'tenant-guard-controllers', timings: { leaseDurationMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 2000 } });
  process.env.POD_NAMESPACE = 'tg-system';
  const r2 = serveOptions([...C, '--kubeconfig', 'k', '--controllers', '--lease-name', 'x', '--lease-duration', '3s']) as { options: { controllers: unknown } };
  t.same(r2.options.controllers, { leaseNamespace: 'tg-system', leaseName: 'x', timings: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 400 } });
  t.throws(() => serveOptions(['--controllers']), /--controllers writes to a cluster: it needs --kubeconfig or --in-cluster/);
  t.throws(() => serveOptions(['--kubeconfig', 'k', '--lease-name', 'x']), /--lease-name configures --controllers; add --controllers/);
  t.throws(() => serveOptions(['--kubeconfig', 'k', '--controllers', '--lease-duration', '500ms']), /at least 1s/);
});

t.test('--client-ca and --client-cn', async (t) => {
  const r = serveOptions([...C, '--client-ca', 'ca.crt']) as { options: { clientAuth: unknown } };
  t.same(r.options.clientAuth, { caFile: 'ca.crt', commonNames: [] }, 'no CN: the default (kube-apiserver) applies');
  const r2 = serveOptions([...C, '--client-ca', 'ca.crt', '--client-cn', 'a', '--client-cn', 'b']) as { options: { clientAuth: unknown } };
  t.same(r2.options.clientAuth, { caFile: 'ca.crt', commonNames: ['a', 'b'] });
  t.notOk((serveOptions(C) as { options: { clientAuth?: unknown } }).options.clientAuth);
});

t.test('one Lease for all leader-only work: --leader-lease follows --lease-name, or must equal it', async (t) => {
  const base = [...C, '--kubeconfig', 'k', '--controllers', '--lease-namespace', 'tg', '--lease-name', 'tg-controllers', '--policy-reports', '10m'];
  const r = serveOptions(base) as { options: { certsAndReports: { leaderLease: unknown } } };
  t.same(r.options.certsAndReports.leaderLease, { namespace: 'tg', name: 'tg-controllers' });
  const same = serveOptions([...base, '--leader-lease', 'tg/tg-controllers']) as { options: { certsAndReports: { leaderLease: unknown } } };
  t.same(same.options.certsAndReports.leaderLease, { namespace: 'tg', name: 'tg-controllers' });
  t.throws(() => serveOptions([...base, '--leader-lease', 'tg/tg-leader']), { code: 'TG_ERR_USAGE', message: /would be two Leases/ });
});

t.test('--metrics-port: its own listener, plain HTTP unless --metrics-tls', async (t) => {
  t.match(serveOptions([...C, '--host', '0.0.0.0', '--metrics-port', '9090']), { options: { metrics: { host: '0.0.0.0', port: 9090, tls: false } } });
  t.match(serveOptions([...C, '--metrics-port', '9090', '--metrics-host', '::', '--metrics-tls']), { options: { metrics: { host: '::', port: 9090, tls: true } } });
  t.throws(() => serveOptions([...C, '--metrics-port', '8443']), /--metrics-port must differ from --port/);
  t.throws(() => serveOptions([...C, '--metrics-tls']), /add --metrics-port/);
  t.throws(() => serveOptions([...C, '--metrics-port', 'x']), /--metrics-port must be a number/);
});

t.test('--rules-url: where denials link to; "" for none', async (t) => {
  t.match(serveOptions([...C, '--rules-url', 'https://docs.example/rules.md']), { options: { rulesUrl: 'https://docs.example/rules.md' } });
  const none = serveOptions([...C, '--rules-url', '']) as { options: { rulesUrl?: string } };
  t.equal(none.options.rulesUrl, undefined);
});
