import { Counter, Gauge, type Registry } from 'prom-client';
import { buildInfo } from '../release/build-info.js';
import { RequestDurationHistogram, requestsCounter, RequestSeriesStore, type RequestLabel } from './request-series.js';

/** The endpoint labels: one per admission route. */
export type Endpoint = 'mutate' | 'validate';

/**
 * Every metric of one app instance (the cluster watcher adds its own,
 * tenant_guard_watch_* and tenant_guard_state_objects, to the same registry), registered on the registry it is given
 * (never prom-client's global one), so several apps can live in one process.
 */
export interface ServerMetrics {
  registry: Registry;
  /**
   * The counts behind `requests` and `latency`, updated per request without
   * prom-client's label hashing (request-series.ts); record through it, never
   * through the two metrics.
   */
  requestSeries: RequestSeriesStore;
  /** decision: allowed | patched | denied | error | invalid (HTTP 4xx, no review answered). */
  requests: Counter<RequestLabel>;
  latency: RequestDurationHistogram;
  /** Once per review (AdmissionReview uid) and rule: the API server's /mutate and /validate calls of one request count once. */
  denials: Counter<'rule'>;
  /** action: deny | warn | audit | exception (how each violation ended under the configured enforcement). */
  violations: Counter<'endpoint' | 'rule' | 'action'>;
  configReloads: Counter<'result'>;
  tlsReloads: Counter<'result'>;
  /** reason: client_unauthorized | body_budget | slow_bodies | stalled_body. */
  refusals: Counter<'reason'>;
  /** notAfter of the certificate being served, whatever its source. */
  certExpiry: Gauge;
  /** Bytes reserved by request bodies in flight, and how many bodies (the memory budget, body-budget.ts), read at scrape time. */
  bodyBytesInFlight: Gauge;
  bodiesInFlight: Gauge;
  /** What the two gauges read: the app's body budget (buildApp sets it). */
  bodyBudget: { current?: { readonly bytesInFlight: number; readonly bodiesInFlight: number } };
  buildInfo: Gauge<'version' | 'commit' | 'node'>;
}

// Webhook calls are cut at timeoutSeconds (10 s by default); the buckets
// resolve the sub-millisecond engine and still show a slow request.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createServerMetrics(registry: Registry): ServerMetrics {
  const registers = [registry];
  const requestSeries = new RequestSeriesStore(LATENCY_BUCKETS);
  const bodyBudget: ServerMetrics['bodyBudget'] = {};
  return {
    bodyBudget,
    bodyBytesInFlight: new Gauge({
      name: 'tenant_guard_request_body_bytes_in_flight',
      help: 'Bytes of admission request bodies reserved now (declared or received) against the memory budget of bodies in flight.',
      registers,
      collect() {
        this.set(bodyBudget.current?.bytesInFlight ?? 0);
      },
    }),
    bodiesInFlight: new Gauge({
      name: 'tenant_guard_request_bodies_in_flight',
      help: 'Admission request bodies being read or judged now (each holds a share of the memory budget).',
      registers,
      collect() {
        this.set(bodyBudget.current?.bodiesInFlight ?? 0);
      },
    }),
    registry,
    requestSeries,
    requests: requestsCounter(requestSeries, registers, 'tenant_guard_admission_requests_total', 'Admission reviews answered, by endpoint, kind, operation and decision.'),
    latency: new RequestDurationHistogram(
      requestSeries,
      'tenant_guard_admission_duration_seconds',
      'Time from the request body parsed to the response built, by endpoint, kind, operation and decision.',
      registers,
    ),
    denials: new Counter({
      name: 'tenant_guard_admission_denials_total',
      help: 'Denied admission requests by rule id: once per review (AdmissionReview uid) and rule, however many endpoints judged it.',
      labelNames: ['rule'],
      registers,
    }),
    violations: new Counter({
      name: 'tenant_guard_admission_violations_total',
      help: 'Violations found, by endpoint, rule id and the action taken: deny, warn, audit, or exception (lifted by a config exception).',
      labelNames: ['endpoint', 'rule', 'action'],
      registers,
    }),
    configReloads: new Counter({
      name: 'tenant_guard_config_reloads_total',
      help: 'Tenancy config reloads; result="error" means the new file was refused and the previous config kept.',
      labelNames: ['result'],
      registers,
    }),
    tlsReloads: new Counter({
      name: 'tenant_guard_tls_reloads_total',
      help: 'TLS certificate reloads; result="error" means the new pair was refused and the previous one kept.',
      labelNames: ['result'],
      registers,
    }),
    refusals: new Counter({
      name: 'tenant_guard_requests_refused_total',
      help: 'Requests refused or cut by the server: client_unauthorized (not the API server), body_budget, slow_bodies or stalled_body (the memory budget of request bodies).',
      labelNames: ['reason'],
      registers,
    }),
    certExpiry: new Gauge({
      name: 'tenant_guard_tls_certificate_expiry_timestamp_seconds',
      help: 'notAfter (Unix seconds) of the serving certificate this replica serves, from any certificate source.',
      registers,
    }),
    buildInfo: buildInfoGauge(registers),
  };
}

function buildInfoGauge(registers: Registry[]): Gauge<'version' | 'commit' | 'node'> {
  const g = new Gauge({
    name: 'tenant_guard_build_info',
    help: 'Always 1; the labels say which build runs (version, git commit, Node.js version).',
    labelNames: ['version', 'commit', 'node'],
    registers,
  });
  const b = buildInfo();
  g.set({ version: b.version, commit: b.commit, node: process.versions.node }, 1);
  return g;
}

/** Sets the certificate expiry gauge from a pair's notAfter (as node reports it). */
export function recordCertExpiry(metrics: Pick<ServerMetrics, 'certExpiry'>, validTo: string): void {
  const ms = Date.parse(validTo);
  if (Number.isFinite(ms)) metrics.certExpiry.set(ms / 1000);
}

/** How many (group, kind) labels are remembered; beyond it a label is computed per request. */
const KIND_LABELS_KEPT = 512;

/** How many recent review uids the denial count remembers (one request's /mutate and /validate calls come moments apart). */
const RECENT_REVIEWS = 4096;

/**
 * The per-request metric updates. Requests and latency go to plain counters
 * (request-series.ts); the denial and violation counters, updated only when a
 * rule fires, keep prom-client's labelled children.
 */
export class AdmissionSeries {
  private readonly denialSeries = new Map<string, Counter.Internal>();
  private readonly violationSeries = new Map<string, Counter.Internal>();
  /** uid -> rules already counted for that review; insertion-ordered, the oldest dropped first. */
  private readonly counted = new Map<string, Set<string>>();
  /** group -> kind -> label, for the kinds seen (bounded: a client may send any kind). */
  private readonly kindLabels = new Map<string, Map<string, string>>();
  private kindLabelCount = 0;

  constructor(
    private readonly metrics: ServerMetrics,
    /**
     * Whether a kind gets a label of its own: one of a fixed set (the engine's isNamedKind), never any kind of a
     * mesh group, whose names a client may make up per request.
     */
    private readonly named: (group: string, kind: string) => boolean,
  ) {}

  /** A bounded label: kinds outside the engine's fixed set are folded into "other" so a client cannot blow up the series count. */
  kindLabel(group: string, kind: string): string {
    const known = this.kindLabels.get(group)?.get(kind);
    if (known !== undefined) return known;
    const label = this.named(group, kind) ? `${group || 'core'}/${kind}` : 'other';
    if (this.kindLabelCount < KIND_LABELS_KEPT) {
      let byKind = this.kindLabels.get(group);
      if (!byKind) this.kindLabels.set(group, (byKind = new Map()));
      byKind.set(kind, label);
      this.kindLabelCount++;
    }
    return label;
  }

  record(endpoint: Endpoint, kind: string, operation: string, decision: string, seconds?: number): void {
    this.metrics.requestSeries.get(endpoint, kind, operation, decision).record(seconds);
  }

  /**
   * Count a review's denial by `rule` once: the API server sends the same uid
   * to /mutate and /validate for one request, and a review listing a rule
   * twice is one denial of it. An empty uid (not from an API server) always counts.
   */
  denial(uid: string, rule: string): void {
    if (uid !== '') {
      let rules = this.counted.get(uid);
      if (rules?.has(rule)) return;
      if (!rules) {
        rules = new Set();
        this.counted.set(uid, rules);
        if (this.counted.size > RECENT_REVIEWS) this.counted.delete(this.counted.keys().next().value!);
      }
      rules.add(rule);
    }
    let c = this.denialSeries.get(rule);
    if (!c) {
      c = this.metrics.denials.labels({ rule });
      this.denialSeries.set(rule, c);
    }
    c.inc();
  }

  violation(endpoint: Endpoint, rule: string, action: string): void {
    const key = `${endpoint}\0${rule}\0${action}`;
    let c = this.violationSeries.get(key);
    if (!c) {
      c = this.metrics.violations.labels({ endpoint, rule, action });
      this.violationSeries.set(key, c);
    }
    c.inc();
  }
}
