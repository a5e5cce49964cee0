import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ClusterState } from '../cluster/state.js';
import { evaluate as engineEvaluate } from '../engine/index.js';
import type { AdmissionDeps, Evaluate } from './admission.js';
import type { ConfigProvider } from './config-provider.js';
import { BODY_LIMIT_BYTES, KEEP_ALIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './limits.js';
import { LOG } from './log-keys.js';
import { createServerMetrics, type Endpoint, type ServerMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import { registerHealthRoutes } from './routes/health.js';
import { MUTATE_PATH, registerMutateRoute } from './routes/mutate.js';
import { registerValidateRoute, VALIDATE_PATH } from './routes/validate.js';
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
  /** The engine; tests substitute a failing one. */
  evaluate?: Evaluate;
  /** Serve HTTPS with this pair; plain HTTP (for inject() in tests) when absent. */
  tls?: Pick<TlsPair, 'cert' | 'key'>;
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
  const common = {
    loggerInstance: options.logger,
    // One line per decision is logged by the admission routes; fastify's per-request lines would double it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // On close: idle keep-alive connections are closed, in-flight requests finish, new ones on open connections get 503.
    forceCloseConnections: 'idle' as const,
    return503OnClosing: true,
  };
  const app = (options.tls ? Fastify({ ...common, https: serverTlsOptions(options.tls) }) : Fastify(common)) as unknown as FastifyInstance;

  const deps: AdmissionDeps = {
    config: options.config,
    state: options.state,
    evaluate: options.evaluate ?? engineEvaluate,
    metrics,
    stateReady: options.stateReady ?? (() => true),
  };

  // The API server sends application/json only; anything else is refused with 415 rather than read as text.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const endpoint = ENDPOINTS[request.routeOptions.url ?? ''];
    let status: number;
    let body;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      body = errorBody(413, 'Payload Too Large', `the request body is larger than ${BODY_LIMIT_BYTES} bytes (7 MiB, two 3 MiB objects and the envelope)`);
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      body = errorBody(415, 'Unsupported Media Type', `content-type must be application/json, got ${JSON.stringify(request.headers['content-type'] ?? null)}`);
    } else if (err.statusCode === 400) {
      status = 400;
      body = errorBody(400, 'Bad Request', `the body is not valid JSON: ${err.message}`);
    } else {
      status = 500;
      body = errorBody(500, 'Internal Server Error', 'internal error; see the server log', 'TG_ERR_ENGINE');
      request.log.error({ [LOG.error]: err.message, stack: err.stack }, 'unhandled error in a route');
    }
    if (endpoint) metrics.requests.inc({ endpoint, kind: 'unknown', operation: 'unknown', decision: 'invalid' });
    if (status < 500) request.log.warn({ [LOG.endpoint]: endpoint, [LOG.errorCode]: body.code, [LOG.error]: body.message }, 'request refused');
    return reply.code(status).send(body);
  });

  registerMutateRoute(app, deps);
  registerValidateRoute(app, deps);
  registerHealthRoutes(app, readiness, metrics.registry);
  return app;
}
