import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ClusterState } from '../cluster/state.js';
import { evaluate as engineEvaluate } from '../engine/index.js';
import type { AdmissionDeps, DecisionLogMode, Evaluate } from './admission.js';
import { BodyError, readJsonBody, tooLargeReview } from './body.js';
import type { ConfigProvider } from './config-provider.js';
import { BIG_BODY_BYTES, BODY_DRAIN_BYTES, BODY_LIMIT_BYTES, CONNECTIONS_CHECK_INTERVAL_MS, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './limits.js';
import { LOG } from './log-keys.js';
import { AdmissionSeries, createServerMetrics, type Endpoint, type ServerMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { registerHealthRoutes } from './routes/health.js';
import { MUTATE_PATH, registerMutateRoute } from './routes/mutate.js';
import { registerValidateRoute, VALIDATE_PATH } from './routes/validate.js';
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
  /** Serve HTTPS with this pair; plain HTTP (for inject() in tests) when absent. */
  tls?: Pick<TlsPair, 'cert' | 'key'>;
  /** Whole-request timeout (headers and body); REQUEST_TIMEOUT_MS (30 s) when absent. */
  requestTimeoutMs?: number;
  /** `denials` (default): plain allowed decisions are logged at debug; `all`: every decision at info. */
  decisionLog?: DecisionLogMode;
}

const ENDPOINTS: Record<string, Endpoint> = { [MUTATE_PATH]: 'mutate', [VALIDATE_PATH]: 'validate' };

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
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const common = {
    loggerInstance: options.logger,
    // One line per decision is logged by the admission routes; fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request: the admission routes put reqId and uid on their own line.
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout,
    // Connections are closed by the shutdown sequence (connections.ts), gracefully, not by fastify's close().
    forceCloseConnections: false,
    // A review arriving on an open connection during the drain is answered (with Connection: close), not refused with a 503.
    return503OnClosing: false,
  };
  // Node cuts a request that is not complete after requestTimeout, headers included only when headersTimeout is not longer,
  // and only checks every connectionsCheckingInterval (30 s by default, which let slow bodies live 60-90 s).
  const timeouts = { headersTimeout: requestTimeout, requestTimeout, connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_INTERVAL_MS, requestTimeout / 4) };
  const app = (
    options.tls ? Fastify({ ...common, https: { ...serverTlsOptions(options.tls), ...timeouts } }) : Fastify({ ...common, http: timeouts })
  ) as unknown as FastifyInstance;

  const deps: AdmissionDeps = {
    config: options.config,
    state: options.state,
    evaluate: options.evaluate ?? engineEvaluate,
    metrics,
    series: new AdmissionSeries(metrics),
    log: options.logger,
    decisionLog: options.decisionLog ?? 'denials',
    stateReady: options.stateReady ?? (() => true),
  };

  // The API server sends application/json only; anything else is refused with 415 rather than read as text.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  const lane = new SerialLane();
  const big = new WeakSet<IncomingMessage>();
  const limits = { limitBytes: BODY_LIMIT_BYTES, bigBytes: BIG_BODY_BYTES, drainBytes: BODY_DRAIN_BYTES };
  app.addContentTypeParser('application/json', (request, payload, done) => {
    readJsonBody(payload as IncomingMessage, limits, lane).then(
      (r) => {
        if (r.big) big.add(request.raw);
        done(null, r.body);
      },
      (e: Error) => done(e, undefined),
    );
  });
  const admissionRoute = { lane, isBig: (raw: IncomingMessage) => big.has(raw) };

  const draining = options.draining;
  if (draining) {
    app.addHook('onRequest', (_request, reply, next) => {
      if (draining()) reply.header('connection', 'close');
      next();
    });
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const endpoint = ENDPOINTS[request.routeOptions.url ?? ''];
    let status: number;
    let body;
    if (err instanceof BodyError && err.statusCode === 413) {
      status = 413;
      body = tooLargeReview(BODY_LIMIT_BYTES, err.uid);
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      body = errorBody(415, 'Unsupported Media Type', `content-type must be application/json, got ${JSON.stringify(request.headers['content-type'] ?? null)}`);
    } else if (err instanceof BodyError || err.statusCode === 400) {
      status = 400;
      body = errorBody(400, 'Bad Request', err instanceof BodyError ? err.message : `the body is not valid JSON: ${err.message}`);
    } else {
      status = 500;
      body = errorBody(500, 'Internal Server Error', 'internal error; see the server log', 'TG_ERR_ENGINE');
      options.logger.error({ reqId: request.id, [LOG.error]: err.message, stack: err.stack }, 'unhandled error in a route');
    }
    if (endpoint) deps.series.record(endpoint, 'unknown', 'unknown', 'invalid');
    if (status < 500) options.logger.warn({ reqId: request.id, [LOG.endpoint]: endpoint, [LOG.errorCode]: body.code, [LOG.error]: body.message }, 'request refused');
    return reply.code(status).send(body);
  });

  registerMutateRoute(app, deps, admissionRoute);
  registerValidateRoute(app, deps, admissionRoute);
  registerHealthRoutes(app, readiness, metrics.registry);
  return app;
}
