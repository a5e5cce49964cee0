// The per-request admission metrics (requests_total and duration_seconds by
// endpoint, kind, operation and decision), counted in plain numbers and handed
// to prom-client only when /metrics is scraped. prom-client sorts, validates
// and hashes the label object on every inc() and observe(), a labels() child
// included (prometheus/client_js#38, open): with two updates per review that
// was a measurable part of the server's own CPU per review (issue 20, serving
// cost). The label values are bounded (AdmissionSeries.kindLabel in
// metrics.ts), so the series are too.
import { Counter, type Histogram, type Metric, type Registry } from 'prom-client';

export type RequestLabel = 'endpoint' | 'kind' | 'operation' | 'decision';
type Labels = Record<RequestLabel, string>;
/** What prom-client's own Histogram#get() returns, the shape its registry formats. */
type HistogramData = Awaited<ReturnType<Histogram<RequestLabel>['get']>>;
type HistogramValue = HistogramData['values'][number];

/** One label set: its request count and, for reviews that were judged, the latency histogram. */
export class RequestSeries {
  requests = 0;
  count = 0;
  sum = 0;
  /** Observations per bucket (not cumulative), one per bound. */
  readonly buckets: number[];

  constructor(
    readonly labels: Readonly<Labels>,
    private readonly bounds: readonly number[],
    /** Where the series goes on its first timed request: the histogram lists series in that order, as prom-client does. */
    private readonly timed: RequestSeries[],
  ) {
    this.buckets = new Array<number>(bounds.length).fill(0);
  }

  /** One request; `seconds` when it was judged (reviews refused before judging count only as requests). */
  record(seconds?: number): void {
    this.requests++;
    if (seconds === undefined || !Number.isFinite(seconds)) return;
    if (this.count++ === 0) this.timed.push(this);
    this.sum += seconds;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

/**
 * The series of one app's admission metrics, found through nested maps of the
 * (interned) label values: no key string is built per request.
 */
export class RequestSeriesStore {
  private readonly tree = new Map<string, Map<string, Map<string, Map<string, RequestSeries>>>>();
  private readonly list: RequestSeries[] = [];
  private readonly timedList: RequestSeries[] = [];

  constructor(readonly bounds: readonly number[]) {}

  get(endpoint: string, kind: string, operation: string, decision: string): RequestSeries {
    let byKind = this.tree.get(endpoint);
    if (!byKind) this.tree.set(endpoint, (byKind = new Map()));
    let byOperation = byKind.get(kind);
    if (!byOperation) byKind.set(kind, (byOperation = new Map()));
    let byDecision = byOperation.get(operation);
    if (!byDecision) byOperation.set(operation, (byDecision = new Map()));
    let s = byDecision.get(decision);
    if (!s) {
      s = new RequestSeries({ endpoint, kind, operation, decision }, this.bounds, this.timedList);
      byDecision.set(decision, s);
      this.list.push(s);
    }
    return s;
  }

  /** Every series, in the order they first occurred. */
  all(): readonly RequestSeries[] {
    return this.list;
  }

  /** The series with at least one timed request, in the order of their first. */
  timed(): readonly RequestSeries[] {
    return this.timedList;
  }

  /** Forget every count (prom-client's registry.resetMetrics()). */
  clear(): void {
    this.tree.clear();
    this.list.length = 0;
    this.timedList.length = 0;
  }
}

/**
 * tenant_guard_admission_requests_total: a prom-client Counter whose values
 * are set from the store when it is collected (prom-client calls `collect`
 * before every read), so nothing else may inc() it.
 */
export function requestsCounter(store: RequestSeriesStore, registers: Registry[], name: string, help: string): Counter<RequestLabel> {
  return new Counter<RequestLabel>({
    name,
    help,
    labelNames: ['endpoint', 'kind', 'operation', 'decision'],
    registers,
    collect() {
      this.reset();
      for (const s of store.all()) this.inc(s.labels, s.requests);
    },
  });
}

/**
 * tenant_guard_admission_duration_seconds: a metric prom-client's registry
 * reads through `get()` like its own Histogram (same names, `le` label first,
 * cumulative buckets, `+Inf`, `_sum`, `_count`), its values taken from the
 * store. Registered as a prom-client Metric: the registry only calls `get()`
 * and `reset()` on it.
 */
export class RequestDurationHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;

  constructor(
    private readonly store: RequestSeriesStore,
    readonly name: string,
    readonly help: string,
    registers: Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<HistogramData> {
    const values: HistogramValue[] = [];
    const bounds = this.store.bounds;
    for (const s of this.store.timed()) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le: bounds[i]!, ...s.labels } as HistogramValue['labels'], value: cumulative, metricName: `${this.name}_bucket`, exemplar: null } as HistogramValue);
      }
      values.push({ labels: { le: '+Inf', ...s.labels } as HistogramValue['labels'], value: s.count, metricName: `${this.name}_bucket`, exemplar: null } as HistogramValue);
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    // prom-client's declared MetricType is an enum; at run time (and in its own metrics) `type` is the string.
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator } as unknown as HistogramData;
  }

  reset(): void {
    this.store.clear();
  }
}
