// The writes the scale benchmark times, as a tenant admin makes them, each
// with the answer the webhook must give. Built as plain AdmissionReview JSON
// (admission.k8s.io/v1), as the API server sends it.
import { randomUUID } from 'node:crypto';
import { adminOf, APPS, knativeService, namespaceObject, namespacePolicy, namespacesOfTenant, tenantName, type Obj } from './state.js';

export interface Decision {
  /** Row label in the report. */
  name: string;
  /** Short key, for `TG_BENCH_DECISIONS` and the targets. */
  key: 'ns-create' | 'ksvc-create' | 'ap-benign' | 'ap-cross-tenant';
  path: '/mutate' | '/validate';
  body: string;
  expect: 'allowed' | 'denied';
  /** The object written, for `check -f`. */
  object: Obj;
}

interface User {
  username: string;
  groups: string[];
}

function review(operation: 'CREATE' | 'UPDATE', object: Obj, user: User, oldObject?: Obj): string {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const kind = { group, version, kind: object.kind };
  const request: Record<string, unknown> = {
    uid: randomUUID(),
    kind,
    resource: { group, version, resource: `${object.kind.toLowerCase()}s` },
    requestKind: kind,
    name: object.metadata.name,
    operation,
    userInfo: { username: user.username, uid: 'u-bench', groups: [...user.groups, 'system:authenticated'] },
    object,
    oldObject: oldObject ?? null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
  };
  if (object.metadata.namespace) request.namespace = object.metadata.namespace;
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
}

/** The tenant whose admin writes: one in the middle, so neither the first nor the last tenant in any order. */
export function actingTenant(tenants: number): number {
  return Math.ceil(tenants / 2);
}

/** A rule added to the tenant's namespace-wide ALLOW. */
function withRule(policy: Obj, fromNamespace: string): Obj {
  const spec = policy.spec as { action: string; rules: unknown[] };
  return { ...policy, spec: { ...spec, rules: [...spec.rules, { from: [{ source: { namespaces: [fromNamespace] } }], to: [{ operation: { ports: ['9090'] } }] }] } };
}

export function decisions(tenants: number): Decision[] {
  const t = actingTenant(tenants);
  const other = t === tenants ? 1 : t + 1;
  const own = namespacesOfTenant(t);
  const admin = adminOf(t);
  const user = { username: admin.user, groups: [admin.group] };
  const stored = namespacePolicy(t, own[0]!);
  const benign = withRule(stored, own[1]!);
  const cross = withRule(stored, namespacesOfTenant(other)[0]!);
  // Created without the tenant labels: the webhook adds them (the patch is part of the cost).
  const ns = namespaceObject(`${tenantName(t)}-ns-new`);
  delete ns.metadata.labels!['istio-injection'];
  const ksvc = knativeService(t, own[0]!, `${APPS[0]}-new`, false);
  return [
    { name: 'Namespace CREATE (tenant admin)', key: 'ns-create', path: '/mutate', body: review('CREATE', ns, user), expect: 'allowed', object: ns },
    { name: 'Knative Service CREATE (tenant admin)', key: 'ksvc-create', path: '/mutate', body: review('CREATE', ksvc, user), expect: 'allowed', object: ksvc },
    { name: 'AP UPDATE, benign (own namespace)', key: 'ap-benign', path: '/validate', body: review('UPDATE', benign, user, stored), expect: 'allowed', object: benign },
    {
      name: 'AP UPDATE, cross-tenant (denied)',
      key: 'ap-cross-tenant',
      path: '/validate',
      body: review('UPDATE', cross, user, stored),
      expect: 'denied',
      object: cross,
    },
  ];
}
