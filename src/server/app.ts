import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RawServerDefault } from 'fastify';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ClusterState } from '../cluster/state.js';
import { evaluate as engineEvaluate, isNamedKind } from '../engine/index.js';
import type { AdmissionDeps, DecisionLogMode, Evaluate } from './admission.js';
import { createAdmissionHandler } from './admission-handler.js';
import type { ConfigProvider } from './config-provider.js';
import { BodyBudget, type BodyBudgetLimits } from './body-budget.js';
import {
  BIG_BODY_BUDGET_BYTES,
  BIG_BODY_BYTES,
  BODY_BUDGET_BYTES,
  BODY_DRAIN_BYTES,
  BODY_LIMIT_BYTES,
  CONNECTIONS_CHECK_INTERVAL_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_SLOW_BODIES,
  MIN_BODY_BYTES_PER_S,
  REQUEST_TIMEOUT_MS,
  SLOW_BODY_MS,
  STALLED_AFTER_MS,
} from './limits.js';
import { LOG } from './log-keys.js';
import { AdmissionSeries, createServerMetrics, type Endpoint, type ServerMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { registerHealthRoutes } from './routes/health.js';
import { callerRefusal, DEFAULT_CLIENT_CN } from './client-auth.js';
import { RateLimitedLog } from './rate-limited-log.js';
import { SerialLane } from './serial-lane.js';
import { serverTlsOptions, type TlsPair } from './tls.js';

export interface AppOptions {
  config: ConfigProvider;
  state: ClusterState;
  logger: Logger;
  /** Where metrics go; a new registry when absent. Ignored when `metrics` is given. */
  registry?: Registry;
  /** Metrics already created on a registry (the serve command shares them with the config reloader). */
  metrics?: ServerMetrics;
  /** Conditions of /readyz; none (always ready) when absent. */
  readiness?: Readiness;
  /** Admission requests are refused while this is false (the cluster state is still loading). */
  stateReady?: () => boolean;
  /** True once a shutdown began: every response then says `Connection: close`, so keep-alive clients leave gracefully. */
  draining?: () => boolean;
  /** The engine; tests substitute a failing one. */
  evaluate?: Evaluate;
  /** Serve HTTPS with this pair; plain HTTP (for inject() in tests) when absent. With `clientCa`, callers are asked for a certificate. */
  tls?: Pick<TlsPair, 'cert' | 'key' | 'clientCa'>;
  /**
   * With `tls.clientCa`: the admission paths answer only a client whose
   * certificate chains to it and has one of these subject CNs (client-auth.ts).
   */
  clientCommonNames?: string[];
  /** Whole-request timeout (headers and body); REQUEST_TIMEOUT_MS (30 s) when absent. */
  requestTimeoutMs?: number;
  /** The memory budget of request bodies in flight (body-budget.ts); limits.ts defaults. Tests shrink it. */
  bodyBudget?: Partial<BodyBudgetLimits>;
  /** `denials` (default): plain allowed decisions are logged at debug; `all`: every decision at info. */
  decisionLog?: DecisionLogMode;
  /** Base URL of docs/rules.md that denials link to (`serve --rules-url`); no links when absent. */
  rulesUrl?: string;
}

export const MUTATE_PATH = '/mutate';
export const VALIDATE_PATH = '/validate';

/**
 * /mutate: the MutatingWebhookConfiguration's path, answers with the engine's
 * JSON Patch when allowed and denies with the same message as /validate (so a
 * bad object is refused before other mutating webhooks spend work on it).
 * /validate: the ValidatingWebhookConfiguration's path, judges the final
 * object after every mutating webhook; never patches.
 */
const ENDPOINTS: Record<string, Endpoint> = { [MUTATE_PATH]: 'mutate', [VALIDATE_PATH]: 'validate' };

/** The admission endpoint of a request URL; the API server adds `?timeout=10s` to the configured path. */
function admissionEndpoint(url: string | undefined): Endpoint | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  return ENDPOINTS[q < 0 ? url : url.slice(0, q)];
}

function errorBody(statusCode: number, error: string, message: string, code = 'TG_ERR_REVIEW_INVALID') {
  return { statusCode, code, error, message: `${code}: ${message}` };
}

/**
 * Build the webhook's fastify instance from its options. No module-level
 * state: every instance has its own config, state, registry and readiness, so
 * tests build as many as they like and drive them with inject().
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const metrics = options.metrics ?? createServerMetrics(options.registry ?? new Registry());
  const readiness = options.readiness ?? new Readiness();
  const deps: AdmissionDeps = {
    config: options.config,
    state: options.state,
    evaluate: options.evaluate ?? engineEvaluate,
    metrics,
    series: new AdmissionSeries(metrics, isNamedKind),
    log: options.logger,
    decisionLog: options.decisionLog ?? 'denials',
    stateReady: options.stateReady ?? (() => true),
    ...(options.rulesUrl !== undefined ? { rulesUrl: options.rulesUrl } : {}),
  };
  const draining = options.draining;
  const budget = new BodyBudget({
    totalBytes: BODY_BUDGET_BYTES,
    bigTotalBytes: BIG_BODY_BUDGET_BYTES,
    bigBytes: BIG_BODY_BYTES,
    maxSlowBodies: MAX_SLOW_BODIES,
    slowAfterMs: SLOW_BODY_MS,
    minBytesPerSecond: MIN_BODY_BYTES_PER_S,
    stalledAfterMs: STALLED_AFTER_MS,
    ...options.bodyBudget,
  });
  metrics.bodyBudget.current = budget;
  const handle = createAdmissionHandler(
    deps,
    { limitBytes: BODY_LIMIT_BYTES, bigBytes: BIG_BODY_BYTES, drainBytes: BODY_DRAIN_BYTES },
    new SerialLane(),
    draining,
    { budget, log: new RateLimitedLog(options.logger) },
  );
  let requests = 0;
  const clientNames = options.tls?.clientCa !== undefined ? new Set(options.clientCommonNames?.length ? options.clientCommonNames : [DEFAULT_CLIENT_CN]) : undefined;
  const refusalLog = new RateLimitedLog(options.logger);
  const refusedCallers = metrics.refusals.labels({ reason: 'client_unauthorized' });
  // Answered before the body is read, with the connection closed after it: the caller learns nothing but that it may not ask.
  const refuseCaller = (req: IncomingMessage, res: ServerResponse, why: string) => {
    refusedCallers.inc();
    refusalLog.warn('client_unauthorized', { [LOG.errorCode]: 'TG_ERR_CLIENT_UNAUTHORIZED', [LOG.error]: why, [LOG.address]: req.socket.remoteAddress }, 'admission request refused: the caller is not the API server');
    const text = JSON.stringify(errorBody(403, 'Forbidden', 'only the API server may ask for admission reviews (serve --client-ca)', 'TG_ERR_CLIENT_UNAUTHORIZED'));
    res.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' }).end(text);
  };

  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node cuts a request that is not complete after requestTimeout (headers only when headersTimeout is not longer) and
  // looks for such requests every connectionsCheckingInterval (30 s by default, which let slow bodies live 60-90 s).
  const serverOptions = {
    headersTimeout: requestTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_INTERVAL_MS, requestTimeout / 4),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const app = Fastify({
    loggerInstance: options.logger,
    // One line per decision is logged by the admission handler; fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (health and metrics routes log nothing per request anyway).
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout,
    // Connections are closed by the shutdown sequence (connections.ts), gracefully, not by fastify's close().
    forceCloseConnections: false,
    // A request arriving on an open connection during the drain is answered (with Connection: close), not refused with a 503.
    return503OnClosing: false,
    // POST /mutate and /validate go straight to the admission handler; everything else to fastify.
    serverFactory: (fastifyHandler) => {
      const listener = (req: IncomingMessage, res: ServerResponse) => {
        const endpoint = req.method === 'POST' ? admissionEndpoint(req.url) : undefined;
        if (!endpoint) return fastifyHandler(req, res);
        if (clientNames) {
          const why = callerRefusal(req.socket, clientNames);
          if (why !== undefined) return refuseCaller(req, res, why);
        }
        handle(endpoint, req, res, `req-${++requests}`);
      };
      // requestCert without rejectUnauthorized: the kubelet's probes present no certificate and still reach /healthz and /readyz;
      // the admission paths check the verdict themselves (client-auth.ts).
      const clientAuth = clientNames ? { requestCert: true, rejectUnauthorized: false } : {};
      return (options.tls ? createHttpsServer({ ...serverTlsOptions(options.tls), ...clientAuth, ...serverOptions }, listener) : createHttpServer(serverOptions, listener)) as unknown as RawServerDefault;
    },
  }) as unknown as FastifyInstance;

  // inject() calls fastify's handler directly: the admission routes hand the raw request to the same handler.
  for (const [path, endpoint] of Object.entries(ENDPOINTS)) {
    app.post(path, {
      onRequest: (request, reply, _done) => {
        reply.hijack();
        handle(endpoint, request.raw, reply.raw, request.id);
      },
      handler: async () => undefined,
    });
  }
  // The API server sends application/json only; anything else is refused with 415 rather than read as text.
  app.removeContentTypeParser('text/plain');
  if (draining) {
    app.addHook('onRequest', (_request, reply, next) => {
      if (draining()) reply.header('connection', 'close');
      next();
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) options.logger.error({ reqId: request.id, [LOG.error]: err.message, stack: err.stack }, 'unhandled error in a route');
    return reply.code(status).send(errorBody(status, status === 500 ? 'Internal Server Error' : 'Bad Request', status === 500 ? 'internal error; see the server log' : err.message, status === 500 ? 'TG_ERR_ENGINE' : 'TG_ERR_REVIEW_INVALID'));
  });

  app.addHook('onClose', (_app, done) => {
    budget.close();
    done();
  });
  registerHealthRoutes(app, readiness, metrics.registry);
  return app;
}
