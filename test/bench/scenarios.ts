import fjp from 'fast-json-patch';
import type { KubeObject } from '../../src/engine/types.js';
import { ALICE, inputFor, knativeService, reviewOf } from '../unit/server/reviews.js';

export interface Scenario {
  name: string;
  path: '/mutate' | '/validate';
  body: string;
  /** What the server must answer, checked once before the load. */
  expect: 'patched' | 'denied' | 'allowed';
}

// The reference setup's tenant-1 policy (test/fixtures/reference/kind/config/authentication-policy-tenant-1.yaml),
// updated by its tenant: judged against every other policy of the reference state.
const tenantPolicy: KubeObject = {
  apiVersion: 'security.istio.io/v1beta1',
  kind: 'AuthorizationPolicy',
  metadata: { name: 'allow-traffic-to-tenant-1', namespace: 'tenant-1' },
  spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['tenant-1', 'knative-serving', 'istio-system'] } }] }] },
};

/** Representative reviews: the common case (a tenant deploys a service), a refusal, and a policy change. */
export function scenarios(): Scenario[] {
  return [
    {
      name: 'mutate: allowed Knative Service (patched)',
      path: '/mutate',
      body: JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello', { 'autoscaling.knative.dev/min-scale': '1' }), ALICE))),
      expect: 'patched',
    },
    {
      name: 'validate: denied Knative Service (sidecar opt-out)',
      path: '/validate',
      body: JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello', { 'sidecar.istio.io/inject': 'false' }), ALICE))),
      expect: 'denied',
    },
    {
      name: 'validate: AuthorizationPolicy update, reference state',
      path: '/validate',
      body: JSON.stringify(reviewOf(inputFor(tenantPolicy, ALICE, 'UPDATE', tenantPolicy))),
      expect: 'allowed',
    },
  ];
}

/** A tenant deploys a Knative Service: the review the API server sends to /mutate. */
export function knativeServiceReview(): string {
  return JSON.stringify(reviewOf(inputFor(knativeService('tenant-1', 'hello', { 'autoscaling.knative.dev/min-scale': '1' }), ALICE)));
}

/**
 * The common review on each endpoint, for the floor ratio and the fixed-rate
 * p99: a tenant deploys a Knative Service. /validate gets what the API server
 * sends it, the object with /mutate's patch applied (`mutatePatch`, base64,
 * from the server's answer to the /mutate review).
 */
export function floorScenarios(mutatePatch: string | undefined): Scenario[] {
  const body = knativeServiceReview();
  const review = JSON.parse(body) as { request: { object: KubeObject } };
  if (mutatePatch) {
    const ops = JSON.parse(Buffer.from(mutatePatch, 'base64').toString('utf8')) as fjp.Operation[];
    review.request.object = fjp.applyPatch(review.request.object, ops, true, false).newDocument;
  }
  return [
    { name: 'allowed Knative Service (patched)', path: '/mutate', body, expect: 'patched' },
    { name: `allowed Knative Service${mutatePatch ? ' (as mutated)' : ''}`, path: '/validate', body: JSON.stringify(review), expect: 'allowed' },
  ];
}

/**
 * A review of about `mib` MiB: a Knative Service whose container has tens of
 * thousands of env entries. Many small objects are the expensive shape to
 * parse (one big string parses several times faster).
 */
export function bigReview(mib: number): string {
  const svc = knativeService('tenant-1', 'big');
  const env: { name: string; value: string }[] = [];
  const perEntry = 72;
  for (let i = 0; i < (mib * 1048576) / perEntry; i++) env.push({ name: `VAR_${i}`, value: `value-${i}-${'x'.repeat(36)}` });
  (svc.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!.env = env;
  return JSON.stringify(reviewOf(inputFor(svc, ALICE)));
}
