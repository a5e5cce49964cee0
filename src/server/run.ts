import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ensureDevCertificates } from '../certs/dev.js';
import type { ControllerOptions, RunningControllers } from '../controllers/run.js';
import { isDemoConfig } from '../config/default.js';
import type { DecisionLogMode } from './admission.js';
import { buildApp } from './app.js';
import { liveState, manifestState, type ClusterConnection, type StateSource } from './cluster-state.js';
import { FileConfigProvider } from './config-provider.js';
import { ConnectionDrain } from './connections.js';
import { DEFAULT_SHUTDOWN_DELAY_MS, LISTENER_QUIET_MAX_MS, LISTENER_QUIET_MS, SHUTDOWN_GRACE_MS } from './limits.js';
import { LOG, MSG } from './log-keys.js';
import { createServerMetrics, recordCertExpiry } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { describeError, TenantGuardError } from '../errors.js';
import { X509Certificate } from 'node:crypto';
import { Readiness } from './readiness.js';
import { shutdownSequence } from './shutdown.js';
import { loadTlsPair, TlsReloader, type TlsFiles } from './tls.js';
import type { ControllersOptions, ControllersRuntime } from '../controllers/runtime.js';
import { GK } from '../cluster/state.js';
import { missingReservedNamespaces } from '../engine/reserved-names.js';
import type { LeaderElector } from '../controllers/leader-election.js';
import { DEFAULT_CLIENT_CN, type ClientAuthOptions } from './client-auth.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** Explicit serving pair, or a directory where development certificates are used or created. */
  tls: TlsFiles | { certsDir: string };
  /** The tenancy config file (any form loadTenancyConfig reads), reloaded on change. */
  configFile: string;
  /** Manifests seeding the in-memory state (exclusive with `cluster`). */
  statePaths: string[];
  cluster?: ClusterConnection;
  /** Run the reconcilers under leader election (needs `cluster`). */
  controllers?: ControllerOptions;
  shutdownDelayMs?: number;
  shutdownGraceMs?: number;
  /** Whole-request timeout; 30 s (REQUEST_TIMEOUT_MS) when absent. Tests shorten it. */
  requestTimeoutMs?: number;
  /** `all`: every admission decision is logged at info; by default plain allowed ones go to debug. */
  decisionLog?: DecisionLogMode;
  /** Certificates mode self and PolicyReports under their own leader election (src/controllers/runtime.ts); need `cluster`. */
  certsAndReports?: ControllersOptions;
  /** Poll interval of the certificate and config watchers (tests shorten it). */
  filePollMs?: number;
  /** Only a client with a certificate from this CA and one of these CNs may post reviews (serve --client-ca/--client-cn). */
  clientAuth?: ClientAuthOptions;
  /** /metrics on its own port (plain HTTP unless `tls`); when absent, only on the webhook's port. */
  metrics?: { host: string; port: number; tls: boolean };
  /** Base URL of docs/rules.md that each denial links to (DEFAULT_RULES_URL in the CLI). */
  rulesUrl?: string;
}

export interface ServeEnv {
  logger: Logger;
  cwd: string;
  stdin?: Readable;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  address: AddressInfo;
  /** The metrics listener's URL, when it has its own port. */
  metricsUrl?: string;
  /** Run the shutdown sequence (idempotent); resolves when the process may exit. */
  shutdown(reason: string): Promise<void>;
}

function resolveTls(tls: ServeOptions['tls'], cwd: string, logger: Logger): TlsFiles {
  if ('certFile' in tls) return { certFile: resolve(cwd, tls.certFile), keyFile: resolve(cwd, tls.keyFile) };
  const dev = ensureDevCertificates(resolve(cwd, tls.certsDir));
  if (dev.generated) logger.info({ [LOG.file]: dev.certFile, ca: dev.caFile }, 'generated development certificates for localhost, 127.0.0.1 and ::1');
  return { certFile: dev.certFile, keyFile: dev.keyFile };
}

/**
 * Start the webhook: certificates, config, cluster state, HTTPS listener and
 * the reloaders. Throws a coded error (TG_ERR_TLS, TG_ERR_CONFIG_*,
 * TG_ERR_INPUT_*, TG_ERR_CLUSTER) when something it needs is not usable.
 */
export async function startWebhookServer(opts: ServeOptions, env: ServeEnv): Promise<RunningServer> {
  const { logger, cwd } = env;
  const configFile = resolve(cwd, opts.configFile);
  // The first line a user sees says when the tenants are the demo's (npm start), never silently.
  if (isDemoConfig(configFile)) logger.warn({ config: configFile }, 'serving the DEMO tenancy config examples/tenancy.yaml (tenant-1, tenant-2): pass --config with your own for a real cluster');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createServerMetrics(registry);

  const cluster = opts.cluster && (opts.cluster.kubeconfig ? { ...opts.cluster, kubeconfig: resolve(cwd, opts.cluster.kubeconfig) } : opts.cluster);
  // One elector for all leader-only work (baseline, certificates, PolicyReports): one Lease, one writer; losing it stops all.
  let elector: LeaderElector | undefined;
  if (cluster && (opts.controllers || opts.certsAndReports)) {
    // Loaded lazily like the cluster state: the offline serve needs none of it.
    const [{ LeaderElector: Elector }, { kubeConfigFor }] = await Promise.all([import('../controllers/leader-election.js'), import('../controllers/self-certs-runtime.js')]);
    const lease = opts.controllers ? { namespace: opts.controllers.leaseNamespace, name: opts.controllers.leaseName } : opts.certsAndReports!.leaderLease;
    const identity = opts.certsAndReports?.replica ?? opts.controllers?.identity;
    elector = new Elector({
      kubeConfig: kubeConfigFor(cluster),
      ...lease,
      ...(identity ? { identity } : {}),
      ...(opts.controllers?.timings ? { timings: opts.controllers.timings } : {}),
      logger,
      registry,
    });
    elector.start();
  }
  let certsAndReports: ControllersRuntime | undefined;
  try {
    if (opts.certsAndReports && cluster && elector) {
      const { startControllers } = await import('../controllers/runtime.js');
      const c = opts.certsAndReports;
      certsAndReports = await startControllers(c.selfCerts ? { ...c, selfCerts: { ...c.selfCerts, dir: resolve(cwd, c.selfCerts.dir) } } : c, cluster, logger, registry, elector);
    }
  } catch (e) {
    await elector?.stop();
    throw e;
  }
  // A start that fails after the controllers began must stop them, or their watches keep the process alive.
  const guard = async <T>(step: () => T | Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (e) {
      await certsAndReports?.stop();
      await elector?.stop();
      throw e;
    }
  };
  const servingFiles = certsAndReports?.tlsFiles ?? resolveTls(opts.tls, cwd, logger);
  const tlsFiles: TlsFiles = opts.clientAuth ? { ...servingFiles, clientCaFile: resolve(cwd, opts.clientAuth.caFile) } : servingFiles;
  const pair = await guard(() => loadTlsPair(tlsFiles));
  recordCertExpiry(metrics, pair.validTo);
  const config = await guard(() => new FileConfigProvider(configFile, logger.child({ component: 'config' }), metrics));
  const state: StateSource = await guard(() =>
    cluster ? liveState(cluster, logger.child({ component: 'cluster' }), registry) : manifestState(opts.statePaths, cwd, env.stdin),
  );

  let stopping = false;
  const readiness = new Readiness()
    .require('config', () => config.current() !== undefined)
    .require('state', () => state.isSynced())
    .require('serving', () => !stopping);
  const app = buildApp({
    config,
    state: state.store,
    logger,
    metrics,
    readiness,
    stateReady: () => state.isSynced(),
    draining: () => stopping,
    tls: pair,
    ...(opts.clientAuth ? { clientCommonNames: opts.clientAuth.commonNames } : {}),
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.decisionLog ? { decisionLog: opts.decisionLog } : {}),
    ...(opts.rulesUrl !== undefined ? { rulesUrl: opts.rulesUrl } : {}),
  });
  const server = app.server as unknown as HttpsServer;
  const connections = new ConnectionDrain(server, true);
  await guard(() => app.listen({ host: opts.host, port: opts.port }));
  const address = server.address() as AddressInfo;
  let metricsServer: MetricsServer | undefined;
  if (opts.metrics) {
    const m = opts.metrics;
    metricsServer = await guard(async () => {
      try {
        return await startMetricsServer({ host: m.host, port: m.port, ...(m.tls ? { tls: pair } : {}) }, registry);
      } catch (e) {
        await app.close();
        throw new TenantGuardError('TG_ERR_USAGE', `cannot listen for metrics on ${m.host}:${m.port}: ${describeError(e)}`, { cause: e });
      }
    });
  }
  const watchOpts = opts.filePollMs !== undefined ? { pollMs: opts.filePollMs } : {};
  // A new certificate goes to the webhook's listener and, over TLS, to the metrics one; its expiry to the gauge.
  const tlsTarget = {
    setSecureContext: (o: Parameters<HttpsServer['setSecureContext']>[0]) => {
      server.setSecureContext(o);
      metricsServer?.secureContext?.setSecureContext(o);
      if (o.cert) {
        try {
          recordCertExpiry(metrics, new X509Certificate(o.cert as string).validTo);
        } catch {
          // the pair was already checked by loadTlsPair
        }
      }
    },
  };
  const tls = new TlsReloader(tlsTarget, tlsFiles, pair, logger.child({ component: 'tls' }), metrics).watch(watchOpts);
  config.watch(watchOpts);

  // Loaded on demand: the Lease client is only needed with --controllers.
  let controllers: RunningControllers | undefined;
  let controllersStopped: Promise<void> | undefined;
  if (opts.controllers && state.kubeConfig) {
    const { startControllers } = await import('../controllers/run.js');
    controllers = startControllers(
      opts.controllers,
      {
        kubeConfig: state.kubeConfig,
        store: state.store,
        isSynced: () => state.isSynced(),
        config: () => config.current(),
        logger,
        registry,
      },
      elector,
    );
  }

  // The report probes this replica's own listener: over loopback when it listens on every address.
  const self = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  certsAndReports?.serving(self, address.port, () => config.current());
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `https://${host}:${address.port}`;
  logger.info(
    { [LOG.address]: url, ...(metricsServer ? { metrics: `${metricsServer.url}/metrics` } : {}), config: configFile, tlsCert: tlsFiles.certFile, certSubject: pair.subject, certValidTo: pair.validTo, state: state.describe },
    MSG.listening,
  );
  if (opts.clientAuth) {
    const names = opts.clientAuth.commonNames.length > 0 ? opts.clientAuth.commonNames : [DEFAULT_CLIENT_CN];
    logger.info({ [LOG.file]: tlsFiles.clientCaFile, clientCN: names }, 'admission reviews are answered only to a client certificate from the client CA with an accepted CN');
  } else {
    logger.warn(
      { hint: 'serve --client-ca FILE (chart: clientAuth.enabled), docs/serve.md "Caller authentication"' },
      'any client that reaches the port may ask for admission reviews: the API server is not authenticated',
    );
  }
  state.start().then(
    () => {
      logger.info({ state: state.describe, [LOG.objects]: state.store.size() }, 'cluster state ready');
      // A trusted name nobody holds yet is anybody's: tenant-guard refuses tenants creating it
      // (TG-NS-RESERVED-NAME), but say so, and it may have been taken before the install.
      if (state.kubeConfig) {
        for (const m of missingReservedNamespaces(config.current(), (ns) => state.store.get(GK.Namespace, undefined, ns) !== undefined)) {
          logger.warn({ namespace: m.namespace, reason: m.why }, 'a namespace the tenancy config trusts by name does not exist; only platform admins may create it (TG-NS-RESERVED-NAME)');
        }
      }
    },
    (e: unknown) => logger.warn({ [LOG.error]: String(e) }, 'cluster state did not sync before the watcher stopped'),
  );

  const shutdown = shutdownSequence(
    {
      stopReadiness: () => {
        stopping = true;
        // Hand the Lease over at once, while this replica drains: another one writes meanwhile. Stepping down stops every
        // leader-only controller (and awaits the baseline reconciler) before the Lease is released.
        controllersStopped = Promise.all([controllers?.stop(), elector?.stop()]).then(() => undefined);
        connections.start();
      },
      closeListener: () => connections.closeListener(() => app.close(), LISTENER_QUIET_MS, LISTENER_QUIET_MAX_MS),
      forceClose: () => server.closeAllConnections(),
      release: async () => {
        connections.stop();
        tls.close();
        config.close();
        await controllersStopped;
        await certsAndReports?.stop();
        await state.stop();
        await metricsServer?.close();
      },
      log: (event, detail) =>
        logger.info(detail ?? {}, event === 'draining' ? MSG.shutdownStarted : event === 'closing' ? MSG.shutdownClosing : MSG.shutdownDone),
    },
    opts.shutdownDelayMs ?? DEFAULT_SHUTDOWN_DELAY_MS,
    opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS,
  );
  return { app, url, address, shutdown, ...(metricsServer ? { metricsUrl: metricsServer.url } : {}) };
}
