import { readFileSync } from 'node:fs';
import type { Level } from 'pino';
import { timingsFor } from '../controllers/timings.js';
import { describeError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { DEFAULT_SHUTDOWN_DELAY_MS } from '../server/limits.js';
import { createLogger, LOG_LEVELS } from '../server/logger.js';
import { startWebhookServer, type ServeOptions } from '../server/run.js';
import { oneOf, parseFlags } from './args.js';
import { DEFAULT_RULES_URL } from '../reports/rule-links.js';
import { CONTROLLER_FLAGS, CONTROLLERS_USAGE, controllersOptions } from './serve-controllers.js';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';
import { missingConfig, seeHelp } from './config-flag.js';

const USAGE = `usage: tenant-guard serve [flags]

Run the admission webhook over HTTPS: POST /mutate and /validate take
admission.k8s.io/v1 AdmissionReviews; GET /healthz, /readyz and /metrics.
--config is required (npm start passes the demo tenants, examples/tenancy.yaml).
Without TLS flags: development certificates in ./certs (created if missing);
without a cluster: an empty state; https://127.0.0.1:8443.

flags:
  --host ADDR            address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)
  --port N               port (default 8443; 0 picks a free one)
  --tls-cert FILE        serving certificate (PEM), reloaded when it changes
  --tls-key FILE         its private key (PEM)
  --certs-dir DIR        without --tls-cert: where development certificates
                         are used or generated (default certs)
  --client-ca FILE       only a client presenting a certificate signed by
                         this CA bundle (PEM, reloaded when it changes) may
                         post reviews: the API server, configured by an
                         AdmissionConfiguration kubeConfigFile (docs/serve.md)
  --client-cn NAME       the accepted subject CN of that certificate
                         (repeatable; default kube-apiserver)
  --config FILE          tenancy config (required): a TenancyConfig, the chart's
                         rendered ConfigMap or a Helm values file; reloaded
                         when it changes (a bad new file is refused and the
                         previous config kept)
  --state PATH           manifests (file, directory or - for stdin) seeding
                         the in-memory cluster state (repeatable)
  --kubeconfig FILE      watch a live cluster's state through this kubeconfig
  --in-cluster           watch the cluster the pod runs in
  --controllers          also run the controllers (the baseline reconciler)
                         on the replica that holds a Lease (leader election);
                         needs --kubeconfig or --in-cluster
  --lease-namespace NS   namespace of the Lease (default: $POD_NAMESPACE, the
                         pod's namespace in-cluster, else tenant-guard)
  --lease-name NAME      name of the Lease (default tenant-guard-controllers)
  --lease-duration DUR   how long a silent leader keeps the Lease (default 15s;
                         renewal deadline 2/3 and retry period 2/15 of it)
  --log-level LEVEL      ${LOG_LEVELS.join(', ')} (default info)
  --log-decisions WHICH  denials (default: denials, warnings and errors at
                         info, plain allowed decisions at debug) or all
                         (every decision at info)
  --metrics-port N       also serve /metrics (and /healthz) on this port,
                         plain HTTP (default: /metrics on the webhook's port only;
                         the chart sets 9090)
  --metrics-host ADDR    address of the metrics listener (default: --host)
  --metrics-tls          serve the metrics port over HTTPS with the webhook's
                         certificate instead of plain HTTP
  --rules-url URL        base URL of docs/rules.md that each denial links to
                         (default ${DEFAULT_RULES_URL}); "" for no links
  --shutdown-delay DUR   on SIGTERM, how long /readyz fails before the
                         listener closes, e.g. 5s, 500ms (default ${DEFAULT_SHUTDOWN_DELAY_MS / 1000}s)
  -h, --help             show this help
${CONTROLLERS_USAGE}`;

// The pod's namespace: the Downward API's POD_NAMESPACE, else the mounted service account's.
const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function defaultLeaseNamespace(inCluster: boolean): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  if (inCluster) {
    try {
      return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    } catch {
      // not mounted: fall through to the chart's default namespace
    }
  }
  return 'tenant-guard';
}

/** `5s`, `500ms`, `1m` or a bare number of seconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new TenantGuardError('TG_ERR_USAGE', `${flag} must be a duration such as 5s, 500ms or 1m, not "${value}"`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

function parsePort(value: string | undefined, flag = '--port'): number {
  if (value === undefined) return 8443;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new TenantGuardError('TG_ERR_USAGE', `${flag} must be a number from 0 to 65535, not "${value}"`);
  return n;
}

/** The flags, checked, as server options; throws TG_ERR_USAGE. */
export function serveOptions(argv: string[]): { options: ServeOptions; logLevel: Level } | 'help' {
  const f = parseFlags(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'certs-dir': { type: 'string' },
    'client-ca': { type: 'string' },
    'client-cn': { type: 'string', multiple: true },
    config: { type: 'string' },
    state: { type: 'string', multiple: true },
    kubeconfig: { type: 'string' },
    'in-cluster': { type: 'boolean' },
    controllers: { type: 'boolean' },
    'lease-namespace': { type: 'string' },
    'lease-name': { type: 'string' },
    'lease-duration': { type: 'string' },
    'log-level': { type: 'string' },
    'log-decisions': { type: 'string' },
    'shutdown-delay': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    'metrics-tls': { type: 'boolean' },
    'rules-url': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    ...CONTROLLER_FLAGS,
  });
  if (f.help) return 'help';
  const usage = (m: string) => new TenantGuardError('TG_ERR_USAGE', m);
  if (!!f['tls-cert'] !== !!f['tls-key']) throw usage('--tls-cert and --tls-key go together');
  if (f['tls-cert'] && f['certs-dir']) throw usage('--certs-dir is for generated development certificates; it cannot be combined with --tls-cert');
  if (f['client-cn'].length > 0 && !f['client-ca']) throw usage('--client-cn names the accepted API server certificate: it needs --client-ca');
  for (const cn of f['client-cn']) if (cn.trim() === '') throw usage('--client-cn must not be empty');
  if (f.kubeconfig && f['in-cluster']) throw usage('--kubeconfig and --in-cluster are exclusive');
  const live = !!f.kubeconfig || f['in-cluster'];
  // A live cluster's relist replaces whole kinds: seeded objects would vanish at the first sync.
  if (live && f.state.length > 0) throw usage('--state seeds an offline state; it cannot be combined with --kubeconfig or --in-cluster');
  if (f.controllers && !live) throw usage('--controllers writes to a cluster: it needs --kubeconfig or --in-cluster');
  for (const flag of ['lease-namespace', 'lease-name', 'lease-duration'] as const) {
    if (f[flag] !== undefined && !f.controllers) throw usage(`--${flag} configures --controllers; add --controllers`);
  }
  const options: ServeOptions = {
    host: f.host ?? '127.0.0.1',
    port: parsePort(f.port),
    tls: f['tls-cert'] && f['tls-key'] ? { certFile: f['tls-cert'], keyFile: f['tls-key'] } : { certsDir: f['certs-dir'] ?? 'certs' },
    statePaths: f.state,
    configFile: f.config ?? '',
    shutdownDelayMs: f['shutdown-delay'] !== undefined ? parseDuration('--shutdown-delay', f['shutdown-delay']) : DEFAULT_SHUTDOWN_DELAY_MS,
  };
  if (f['client-ca']) options.clientAuth = { caFile: f['client-ca'], commonNames: f['client-cn'] };
  if (f['metrics-port'] !== undefined) {
    const port = parsePort(f['metrics-port'], '--metrics-port');
    if (port !== 0 && port === options.port) throw usage('--metrics-port must differ from --port');
    options.metrics = { host: f['metrics-host'] ?? options.host, port, tls: f['metrics-tls'] };
  } else if (f['metrics-host'] !== undefined || f['metrics-tls']) throw usage('--metrics-host and --metrics-tls configure --metrics-port; add --metrics-port');
  const rulesUrl = f['rules-url'] ?? DEFAULT_RULES_URL;
  if (rulesUrl !== '') options.rulesUrl = rulesUrl;
  if (f['log-decisions']) options.decisionLog = oneOf('--log-decisions', f['log-decisions'], ['denials', 'all'] as const);
  const controllersLease = f.controllers ? { namespace: f['lease-namespace'] ?? defaultLeaseNamespace(!!f['in-cluster']), name: f['lease-name'] ?? 'tenant-guard-controllers' } : undefined;
  const controllers = controllersOptions(f, live, controllersLease);
  if (controllers) {
    if (controllers.selfCerts && (f['tls-cert'] || f['certs-dir'])) throw usage('--self-certs serves the certificate of its Secret: drop --tls-cert/--tls-key/--certs-dir');
    options.certsAndReports = controllers;
  }
  if (live) options.cluster = f['in-cluster'] ? { inCluster: true } : { inCluster: false, kubeconfig: f.kubeconfig! };
  if (f.controllers) {
    const leaseMs = f['lease-duration'] !== undefined ? parseDuration('--lease-duration', f['lease-duration']) : 15_000;
    if (leaseMs < 1000) throw usage('--lease-duration must be at least 1s (the Lease counts whole seconds)');
    options.controllers = {
      leaseNamespace: controllersLease!.namespace,
      leaseName: controllersLease!.name,
      timings: timingsFor(leaseMs),
    };
  }
  // One Lease for every leader-only controller: the baseline's, when --controllers runs it.
  if (options.controllers && options.certsAndReports) {
    const one = { namespace: options.controllers.leaseNamespace, name: options.controllers.leaseName };
    const given = options.certsAndReports.leaderLease;
    if (f['leader-lease'] && (given.namespace !== one.namespace || given.name !== one.name))
      throw usage(`--leader-lease ${given.namespace}/${given.name} and --lease-namespace/--lease-name ${one.namespace}/${one.name} would be two Leases: all leader-only work (baseline, certificates, PolicyReports) runs under one; give the same Lease or only one of them`);
    options.certsAndReports.leaderLease = one;
  }
  const logLevel = f['log-level'] ? oneOf('--log-level', f['log-level'], LOG_LEVELS) : 'info';
  // Last, so a command line with several mistakes names the others first.
  if (!f.config) throw missingConfig('serve');
  return { options, logLevel };
}

export async function runServe(argv: string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof serveOptions>;
  try {
    parsed = serveOptions(argv);
  } catch (e) {
    io.stderr.write(`${describeError(e)}\n${seeHelp('serve')}\n`);
    return EXIT_USAGE;
  }
  if (parsed === 'help') {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const logger = createLogger(parsed.logLevel, io.stdout);
  let running;
  try {
    running = await startWebhookServer(parsed.options, { logger, cwd: io.cwd, stdin: io.stdin });
  } catch (e) {
    const line = isTenantGuardError(e) ? e.toString() : `TG_ERR_USAGE: cannot start the server: ${describeError(e)}`;
    logger.fatal({ err: line }, 'tenant-guard could not start');
    io.stderr.write(`${line}\n`);
    return EXIT_USAGE;
  }
  const server = running;
  await new Promise<void>((done) => {
    // Handlers stay installed for the whole drain: a repeated signal (a
    // supervisor and a wrapper both forwarding SIGTERM) must not kill the
    // process halfway through it. SIGKILL remains the way to force an exit.
    const onSignal = (signal: NodeJS.Signals) => {
      server.shutdown(signal).then(
        () => finish(),
        (e: unknown) => {
          logger.error({ err: describeError(e) }, 'shutdown failed');
          finish();
        },
      );
    };
    const finish = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      done();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return EXIT_OK;
}
