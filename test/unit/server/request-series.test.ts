// The admission request metrics are counted outside prom-client
// (src/server/request-series.ts) and must read exactly as prom-client's own
// Counter and Histogram would: the same scrape text, the same JSON.
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import t from 'tap';
import { RequestDurationHistogram, requestsCounter, RequestSeriesStore } from '../../../src/server/request-series.js';

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const NAMES = { requests: 'x_requests_total', latency: 'x_duration_seconds' };
const LABELS = ['endpoint', 'kind', 'operation', 'decision'] as const;

function ours() {
  const registry = new Registry();
  const store = new RequestSeriesStore(BOUNDS);
  requestsCounter(store, [registry], NAMES.requests, 'requests');
  new RequestDurationHistogram(store, NAMES.latency, 'latency', [registry]);
  return { registry, store };
}

function promClients() {
  const registry = new Registry();
  const requests = new Counter({ name: NAMES.requests, help: 'requests', labelNames: LABELS, registers: [registry] });
  const latency = new Histogram({ name: NAMES.latency, help: 'latency', labelNames: LABELS, buckets: BOUNDS, registers: [registry] });
  return { registry, requests, latency };
}

const observation = fc.record({
  endpoint: fc.constantFrom('mutate', 'validate'),
  kind: fc.constantFrom('core/Pod', 'apps/Deployment', 'other', 'unknown', 'a"b\\c\nd'),
  operation: fc.constantFrom('CREATE', 'UPDATE', 'unknown'),
  decision: fc.constantFrom('allowed', 'patched', 'denied', 'error', 'invalid'),
  // Bounds themselves, values between them, above the last; none: a request refused before it was judged.
  seconds: fc.option(fc.oneof(fc.constantFrom(...BOUNDS), fc.double({ min: 0, max: 20, noNaN: true })), { nil: undefined }),
});

t.test('scrape text and JSON are what prom-client itself produces for the same requests', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (obs) => {
      const a = ours();
      const b = promClients();
      for (const o of obs) {
        a.store.get(o.endpoint, o.kind, o.operation, o.decision).record(o.seconds);
        const labels = { endpoint: o.endpoint, kind: o.kind, operation: o.operation, decision: o.decision };
        b.requests.inc(labels);
        if (o.seconds !== undefined) b.latency.observe(labels, o.seconds);
      }
      const [textA, textB] = [await a.registry.metrics(), await b.registry.metrics()];
      if (textA !== textB) throw new Error(`scrape text differs:\n--- ours\n${textA}\n--- prom-client\n${textB}`);
      // As a consumer reads it: serialised (prom-client leaves `exemplar: undefined` on _sum and _count).
      const [jsonA, jsonB] = [JSON.stringify(await a.registry.getMetricsAsJSON()), JSON.stringify(await b.registry.getMetricsAsJSON())];
      t.same(JSON.parse(jsonA), JSON.parse(jsonB));
    }),
    { numRuns: 150, seed: 20 },
  );
});

t.test('a scrape is level-based: repeated scrapes read the same counts, later requests add to them', async (t) => {
  const a = ours();
  const s = a.store.get('validate', 'core/Pod', 'CREATE', 'allowed');
  s.record(0.002);
  s.record(undefined);
  const first = await a.registry.metrics();
  t.equal(await a.registry.metrics(), first, 'a second scrape reads the same');
  t.match(first, /x_requests_total\{endpoint="validate",kind="core\/Pod",operation="CREATE",decision="allowed"\} 2/);
  t.match(first, /x_duration_seconds_count\{endpoint="validate",kind="core\/Pod",operation="CREATE",decision="allowed"\} 1/);
  t.match(first, /x_duration_seconds_bucket\{le="0.0025",endpoint="validate",kind="core\/Pod",operation="CREATE",decision="allowed"\} 1/);
  t.match(first, /x_duration_seconds_bucket\{le="0.001",endpoint="validate",kind="core\/Pod",operation="CREATE",decision="allowed"\} 0/);
  s.record(20);
  const second = await a.registry.metrics();
  t.match(second, /x_requests_total\{[^}]*\} 3/);
  t.match(second, /x_duration_seconds_bucket\{le="10",[^}]*\} 1/, 'above the last bound: only in +Inf');
  t.match(second, /x_duration_seconds_bucket\{le="\+Inf",[^}]*\} 2/);
  t.equal(a.store.get('validate', 'core/Pod', 'CREATE', 'allowed'), s, 'one series per label set');
  a.registry.resetMetrics();
  t.notMatch(await a.registry.metrics(), /x_requests_total\{/, 'resetMetrics() forgets every series');
});

t.test('the registry refuses a second metric of the same name, as for its own metrics', async (t) => {
  const a = ours();
  t.throws(() => new RequestDurationHistogram(a.store, NAMES.latency, 'again', [a.registry]), /already been registered/);
  t.throws(() => new Counter({ name: NAMES.latency, help: 'x', registers: [a.registry] }), /already been registered/);
});
