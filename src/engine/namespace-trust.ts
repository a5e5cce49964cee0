// Namespace names carry trust: an AuthorizationPolicy that admits callers "from
// namespace x" (or by a pattern or deny-list x fits) admits whoever holds x.
// A name counts as a tenant's only while the namespace exists with that
// tenant's label, so creating, relabelling or un-labelling a namespace hands
// the trust its name has to the new holder. These checks keep the mesh model's
// ownership facts (src/tenancy/ownership.ts) true.

import { Ownership } from '../tenancy/ownership.js';
import { EVERY_TENANT, trustsOfName, type NameTrust } from '../mesh/namespace-trust.js';
import type { RuleContext, RuleDoc } from './context.js';
import { msg, ref, refList, type MessageText, type ObjectRef } from '../kube/message-text.js';

export const TRUSTED_NAME_RULE = 'TG-NS-TRUSTED-NAME';

export const namespaceTrustRules: RuleDoc[] = [
  {
    id: TRUSTED_NAME_RULE,
    kinds: ['/Namespace'],
    stops:
      "Creating a namespace, or moving it to another tenant (or out of tenancy), whose name an enforced ALLOW AuthorizationPolicy of another tenant trusts: exactly, by pattern (`tenant-1*`), or by a deny-list (`notNamespaces`) the name is not on; deleting a namespace whose name a policy outside it still trusts.",
    why:
      'Istio admits callers by the namespace in their mTLS identity, so the trust a policy gives a namespace name goes to whoever holds that name: a name that does not exist yet, or that its owner deleted, ' +
      'could otherwise be created by another tenant to inherit it. Deleting a namespace whose name a policy outside it still trusts is refused for the same reason (the baseline\'s own policies excepted: tenant-guard updates them itself).',
    cite: 'https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source (namespaces: matched against the peer identity)',
    exampleAs: { username: 'bob', groups: ['tenant-2-admins'] },
    example: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-own, namespace: tenant-1}
spec:
  rules: [{from: [{source: {namespaces: [tenant-1, "tenant-1-*", knative-serving, istio-system]}}]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: tenant-1-jobs}`,
  },
];

/**
 * One trusting policy, as a reference: a caller of another tenant reads "a
 * policy of tenant tenant-1 (admits callers into tenant tenant-1)", never its
 * name or rules (src/kube/message-text.ts).
 */
function describe(ctx: RuleContext, t: NameTrust): ObjectRef {
  const effect =
    t.routesFrom !== undefined
      ? `routes ${t.routesFrom === '*' ? 'any caller' : `callers of ${t.routesFrom.join(', ')}`} to it through the activator`
      : `admits callers into ${t.protects === EVERY_TENANT ? 'every tenant' : `tenant ${t.protects}`}`;
  return ref(`AuthorizationPolicy ${t.policy.namespace}/${t.policy.name} (${t.field}), which ${effect}`, ctx.tenancy.tenantOf(t.policy.namespace), 'policy');
}

function describeAll(ctx: RuleContext, ts: NameTrust[]) {
  return refList(
    ts.map((t) => describe(ctx, t)),
    { separator: '; ', max: 3, plural: 'policies' },
  );
}

/**
 * Judge the holder of namespace `name` changing to `owner` (a tenant, or
 * undefined: no tenant). `deny` records a violation (or a warning for
 * platform controllers, as the namespace rules do).
 */
export function checkTrustedName(ctx: RuleContext, name: string, owner: string | undefined, deny: (rule: string, path: string, message: string | MessageText) => void): void {
  const own = new Ownership(ctx.state, ctx.config);
  // A caller of namespace `ns` may reach a workload of `owner`: its own, a peer's, or the platform's.
  const welcome = (ns: string) => {
    const o = own.ownerOf(ns);
    return o.kind === 'platform' || (owner !== undefined && o.kind === 'tenant' && (o.tenant === owner || ctx.tenancy.isPeered(o.tenant, owner)));
  };
  const inherited = trustsOfName(ctx.state, ctx.config, name).filter((t) =>
    t.routesFrom !== undefined
      ? t.routesFrom === '*' || !t.routesFrom.every(welcome)
      : owner === undefined || t.protects === EVERY_TENANT || (t.protects !== owner && !ctx.tenancy.isPeered(owner, t.protects)),
  );
  if (inherited.length === 0) return;
  const holder = owner === undefined ? 'a namespace of no tenant' : `tenant ${owner}`;
  const fix = `Pick another name, or first remove "${name}" from those policies (or declare a peering in the tenancy config).`;
  deny(TRUSTED_NAME_RULE, 'metadata.name', msg`"${name}" is trusted by ${describeAll(ctx, inherited)}. As ${holder}, its workloads would inherit that trust and reach those workloads. ${fix}`);
}

/**
 * Deleting a namespace frees its name, and a name nobody holds is anybody's
 * tomorrow: while a policy outside the namespace still trusts the name, the
 * delete is refused (remove the name first). The baseline's own policies are
 * the exception: tenant-guard's reconciler drops the name from them itself,
 * and until it has, this rule refuses anyone else creating the name.
 */
export function checkReleasedName(ctx: RuleContext, name: string, deny: (rule: string, path: string, message: string | MessageText) => void, warn: (message: string | MessageText) => void): void {
  const trusts = trustsOfName(ctx.state, ctx.config, name);
  const blocking = trusts.filter((t) => !t.managed);
  const managed = trusts.filter((t) => t.managed);
  if (blocking.length > 0) {
    deny(
      TRUSTED_NAME_RULE,
      'metadata.name',
      msg`"${name}" is still trusted by ${describeAll(ctx, blocking)}. Deleting the namespace frees the name, and whoever creates it next would inherit that trust. Remove "${name}" from those policies first.`,
    );
  }
  if (managed.length > 0) warn(msg`${TRUSTED_NAME_RULE}: the baseline's ${describeAll(ctx, managed)} still name "${name}"; tenant-guard drops it from them, and meanwhile refuses creating "${name}" for any other tenant.`);
}
