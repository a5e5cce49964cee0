import { GK, groupKind } from '../cluster/state.js';
import type { ClusterState } from '../cluster/state.js';
import { reviewAuthorizationPolicy } from '../mesh/admission.js';
import { drainPortFindings } from '../mesh/drain-port.js';
import { ignoredByIstiod } from '../mesh/istiod-ignores.js';
import { parsePolicy, PolicyShapeError } from '../mesh/policy.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import type { Decision, KubeObject } from './types.js';

// Admission of security.istio.io AuthorizationPolicy (v1 and v1beta1: one
// stored object) against the mesh reachability model in src/mesh. Applies to
// every identity, platform admins included: no identity may open a
// cross-tenant path; wanted ones are declared as config `peerings`.

const KIND = ['security.istio.io/AuthorizationPolicy'];
const ISTIO_AP = 'https://istio.io/latest/docs/reference/config/security/authorization-policy/';

const TENANT_1_ALLOW = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-own, namespace: tenant-1}
spec:
  rules: [{from: [{source: {namespaces: [tenant-1, knative-serving, istio-system]}}]}]
---
`;

export const authorizationPolicyRules: RuleDoc[] = [
  {
    id: 'TG-AUTHZ-MALFORMED',
    kinds: KIND,
    stops:
      'A CREATE or UPDATE of an AuthorizationPolicy whose fields the model cannot read (a field the CRD does not define, unknown action, a non-list where Istio expects a list, a when condition without key, a null rule), ' +
      "that istiod's own validation rejects (bad IP or port, unknown or malformed when key, a when without values, empty values, bad path templates, dry-run on AUDIT/CUSTOM, ...; the message repeats istiod's reason), " +
      'or whose namespaces, principals (`*<rest>` form) or serviceAccounts values contain regex characters.',
    why:
      'The guardrail proves reachability from what it can read; a policy it cannot read could open anything, so it is denied (fail closed), and a field it does not know is never dropped. ' +
      'Policies istiod rejects are still modelled as istiod runs them when they are already in the cluster, but a new one is refused with istiod\'s reason. ' +
      'Istio releases without istio/istio#59992 paste namespace and `*<rest>` principal values into regular expressions unescaped (`.*/ns/<value>/.*`), so `tenant-.` or `(tenant-1|tenant-2)` would match other tenants.',
    cite: `${ISTIO_AP} ; https://github.com/istio/istio/blob/master/pkg/config/validation/validation.go (ValidateAuthorizationPolicy) ; https://github.com/istio/istio/blob/master/pilot/pkg/security/authz/model/generator.go (srcNamespaceGenerator)`,
    example: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: odd, namespace: tenant-1}
spec:
  action: ALLOW_ALL`,
  },
  {
    id: 'TG-AUTHZ-OPENS-PATH',
    kinds: KIND,
    stops: 'A CREATE, UPDATE or DELETE of an AuthorizationPolicy after which a caller of one tenant can reach a Knative Service of another (directly, via the activator, via knative-local-gateway) where it could not before.',
    why:
      'Istio evaluates CUSTOM, then DENY, then ALLOW policies of the receiving workload, its namespace and the mesh root namespace; rules are ORed and from/to/when ANDed. ' +
      'The model searches every request an attacker can craft (any service account of its namespaces or plaintext where PeerAuthentication permits, any Host of the target, port, path, method and headers) ' +
      'along each hop of each data path; the activator and gateway forward with their own identity, which tenant policies trust. Any cell that turns from denied to allowed is named with the rule that opened it.',
    cite: `${ISTIO_AP} ; https://istio.io/latest/docs/concepts/security/#authorization-policy-precedence`,
    example: `${TENANT_1_ALLOW}apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-tenant-2, namespace: tenant-1}
spec:
  rules: [{from: [{source: {namespaces: [tenant-2]}}]}]`,
  },
  {
    id: 'TG-AUTHZ-LAST-ALLOW',
    kinds: KIND,
    stops:
      'Deleting (or marking `istio.io/dry-run`, labelling `istio.io/rev` with a revision that does not serve the namespace, or turning into DENY/AUDIT/CUSTOM) ' +
      'the last enforced ALLOW policy of a tenant workload or of the activator. Deletes in a terminating namespace are exempt.',
    why:
      'A workload with no ALLOW policy allows every request that no DENY policy stops: removing the last ALLOW of tenant-1 lets every other tenant in. ' +
      'A dry-run policy is only logged, never enforced, and istiod skips objects labelled for another control-plane revision (src/mesh/istiod-ignores.ts), ' +
      'so either switch is the same as deleting it. When the namespace is being deleted, the namespace controller removes its policies with its workloads; ' +
      'refusing that would leave the namespace stuck in Terminating.',
    cite: `${ISTIO_AP} (action, "istio.io/dry-run" annotation); istio/istio pkg/config/model.go LabelsInRevision`,
    exampleOperation: 'DELETE',
    example: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-own, namespace: tenant-1}
spec:
  rules: [{from: [{source: {namespaces: [tenant-1, knative-serving, istio-system]}}]}]`,
  },
  {
    id: 'TG-AUTHZ-FOREIGN-SOURCE',
    kinds: KIND,
    stops:
      "An ALLOW rule that on its own admits a caller of another tenant (not a declared peering) into a tenant's workloads or through the activator to its hosts: " +
      'another tenant\'s namespace, principal or service account, a wildcard (`tenant-*`, `*`), `not*` sources, no `from` at all (except on drain ports), ipBlocks, requestPrincipals or header conditions as the only identity, ' +
      'in the tenant namespace or the mesh root namespace.',
    why:
      'Judged per rule, ignoring other policies: such a rule opens a cross-tenant path as soon as the policies around it change, and keeps it open after another opening is fixed. ' +
      'Istio\'s namespace values are regexes (`*` -> `.*`), negative source fields match every other caller and plaintext, and ipBlocks/request principals/headers are chosen or forgeable by the caller.',
    cite: `${ISTIO_AP}#Source ; https://istio.io/latest/docs/reference/config/security/conditions/`,
    example: `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-tenants, namespace: tenant-1}
spec:
  rules: [{from: [{source: {namespaces: ["tenant-*"]}}]}]`,
  },
  {
    id: 'TG-AUTHZ-DRAIN-PATH',
    kinds: KIND,
    warningOnly: true,
    stops: 'An ALLOW rule with no `from` that is limited to the drain ports (config.drainPorts) but not to the path /wait-for-drain.',
    why: "The kubelet's pre-stop hook calls queue-proxy's admin port (8022) without a mesh identity, so a no-`from` rule is tolerated there; every other admin path on that port is then open to any caller.",
    cite: 'https://github.com/knative/serving/blob/main/pkg/queue/constants.go (RequestQueueDrainPath)',
  },
  {
    id: 'TG-AUTHZ-DRAIN-SOURCE',
    kinds: KIND,
    stops:
      'When clusterNetwork.nodeCIDRs is configured: an ALLOW rule limited to the drain ports without a mesh identity in `from` whose sources are not limited ' +
      'by ipBlocks inside the node network (no `from`, remoteIpBlocks only, ipBlocks outside it). In tenant namespaces and the mesh root.',
    why:
      'The drain port takes plaintext from anyone the rule admits, so any pod of any tenant can call /wait-for-drain on another tenant\'s pod and queue-proxy starts draining. ' +
      'Only the kubelet needs it, and its source address is on the node network; Istio matches ipBlocks against the connection\'s source IP, which a pod cannot choose.',
    cite: `${ISTIO_AP}#Source (ipBlocks); https://github.com/knative/serving/blob/main/pkg/queue/constants.go (RequestQueueDrainPath)`,
  },
  {
    id: 'TG-AUTHZ-DRAIN-OPEN',
    kinds: KIND,
    warningOnly: true,
    stops: 'When clusterNetwork.nodeCIDRs is not configured: an ALLOW rule with no `from` limited to the drain ports.',
    why:
      'Residual risk, reported on every such policy: any pod of any tenant can call /wait-for-drain on another tenant\'s pods (a cross-tenant denial of service: queue-proxy drains). ' +
      'Configure clusterNetwork.nodeCIDRs so TG-AUTHZ-DRAIN-SOURCE can require the node network in ipBlocks.',
    cite: 'https://github.com/knative/serving/blob/main/pkg/queue/constants.go (RequestQueueDrainPath)',
  },
];

function withNamespace(obj: KubeObject | undefined, ns: string | undefined): KubeObject | undefined {
  if (!obj || obj.metadata.namespace || !ns) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: ns } };
}

/** The namespace controller is removing the namespace's contents (the same test as the PeerAuthentication rule). */
function isTerminating(state: ClusterState, ns: string | undefined): boolean {
  const nsObj = ns ? state.get(GK.Namespace, undefined, ns) : undefined;
  return Boolean(nsObj?.metadata.deletionTimestamp) || (nsObj?.status as { phase?: string } | undefined)?.phase === 'Terminating';
}

function handle(ctx: RuleContext): Decision {
  const { input, state, config } = ctx;
  const b = new DecisionBuilder();
  const ns = input.namespace;
  let written: KubeObject | undefined;
  let deleted: KubeObject | undefined;
  if (input.operation === 'DELETE') {
    // The namespace controller deletes everything in a terminating namespace
    // (workloads included); refusing a policy delete there, the last ALLOW
    // above all, would leave the namespace stuck in Terminating wherever the
    // chart's controller exemptions are off. Same as TG-PEERAUTHN-WEAKEN.
    if (isTerminating(state, ns)) return b.build();
    deleted = withNamespace(input.oldObject ?? input.object ?? (ns && input.name ? state.get(GK.AuthorizationPolicy, ns, input.name) : undefined), ns);
    if (!deleted) return b.build(); // nothing known to delete: nothing changes
  } else if (input.operation === 'CREATE' || input.operation === 'UPDATE') {
    written = withNamespace(input.object, ns);
  } else {
    return b.build();
  }
  // A new write must pass istiod's own validation (and the model's refusals):
  // a policy istiod would reject is refused with istiod's reason. Policies
  // already in the cluster are modelled as istiod runs them (src/mesh/policy.ts).
  if (written) {
    try {
      const problem = parsePolicy(written).invalid?.[0];
      if (problem) return malformed(b, problem);
    } catch (e) {
      if (!(e instanceof PolicyShapeError)) throw e;
      return malformed(b, e);
    }
  }
  // A write istiod would skip (istio.io/rev of a revision that does not serve
  // the namespace) takes the previous version out of force: judge it as the
  // delete it amounts to. Its content is still judged below (drain sources),
  // since relabelling it later would bring it into force unjudged otherwise.
  const ignoredWhy = written ? ignoredByIstiod(written, state.get(GK.Namespace, undefined, written.metadata.namespace ?? ''), config) : undefined;
  if (written && ignoredWhy) {
    const prev = state.get(GK.AuthorizationPolicy, written.metadata.namespace ?? '', written.metadata.name ?? '') ?? withNamespace(input.oldObject, ns);
    const prevIgnored = prev ? ignoredByIstiod(prev, state.get(GK.Namespace, undefined, prev.metadata.namespace ?? ''), config) : undefined;
    b.warn(`AuthorizationPolicy ${ns}/${written.metadata.name ?? ''}: ${ignoredWhy}; tenant-guard judges this write as ${prev && !prevIgnored ? 'the delete of the previous version' : 'a no-op'}.`);
    judgeDrainSources(written, config, b);
    if (!prev || prevIgnored) return b.build();
    deleted = prev;
    written = undefined;
  }
  judgeReview(ctx, b, written, deleted, ignoredWhy);
  if (written) judgeDrainSources(written, config, b);
  return b.build();
}

/** TG-AUTHZ-DRAIN-SOURCE / the drain warning, for policies in tenant namespaces and the mesh root. */
function judgeDrainSources(obj: KubeObject, config: RuleContext['config'], b: DecisionBuilder): void {
  let parsed;
  try {
    parsed = parsePolicy(obj);
  } catch (e) {
    if (e instanceof PolicyShapeError) return; // reported as TG-AUTHZ-MALFORMED
    throw e;
  }
  if (config.systemNamespaces.includes(parsed.namespace) && parsed.namespace !== config.meshRootNamespace) return;
  const f = drainPortFindings(parsed, config);
  for (const v of f.violations) b.violate(v.rule, v.path, v.message);
  for (const w of f.warnings) b.warn(w);
}

function judgeReview(ctx: RuleContext, b: DecisionBuilder, written: KubeObject | undefined, deleted: KubeObject | undefined, ignoredWhy: string | undefined): void {
  const { input, state, config } = ctx;
  const ns = input.namespace;
  const review = reviewAuthorizationPolicy(state, config, written, deleted);
  if (review.malformed) {
    malformed(b, review.malformed);
    return;
  }
  const verb = ignoredWhy ? 'this relabelling of' : input.operation === 'DELETE' ? 'deleting' : input.operation === 'UPDATE' ? 'this update of' : 'creating';
  for (const o of review.opened) {
    const cell = `${o.from} -> ${o.to} via ${o.path}`;
    if (o.lastAllowRemoved) {
      b.violate(
        'TG-AUTHZ-LAST-ALLOW',
        input.operation === 'DELETE' ? 'metadata.name' : ignoredWhy ? 'metadata.labels["istio.io/rev"]' : 'spec',
        `${cell}: ${verb} AuthorizationPolicy ${ns}/${input.name ?? written?.metadata.name ?? deleted?.metadata.name}: ${o.detail}${ignoredWhy ? ` (${ignoredWhy})` : ''}, so ${o.from} could call ${o.to} (${o.request}). ` +
          `Keep an ALLOW policy that admits only ${o.to}'s own namespaces plus knative-serving and istio-system before removing this one${ignoredWhy ? ', and do not label it for another control plane' : ''}.`,
      );
    } else {
      b.violate(
        'TG-AUTHZ-OPENS-PATH',
        o.rule !== undefined ? `spec.rules[${o.rule}]` : 'spec',
        `${cell}: ${o.detail}. ${verb[0]!.toUpperCase()}${verb.slice(1)} this AuthorizationPolicy would let ${o.from.startsWith('any') || o.from.startsWith('namespace') || o.from.startsWith('a ') ? o.from : `a workload of ${o.from}`} reach a Knative Service of ${o.to} ` +
          `(${o.request}). ${o.fix ?? `Admit only ${o.to}'s own namespaces, by exact name, and the platform namespaces, or declare the path as a peering in the tenancy config.`}`,
      );
    }
  }
  for (const f of review.foreign) {
    b.violate(
      'TG-AUTHZ-FOREIGN-SOURCE',
      `spec.rules[${f.rule}]`,
      `${f.from} -> ${f.to} via ${f.via === 'pod' ? 'direct calls' : 'the activator'}: ${f.detail} (${f.request}). This rule on its own admits ${f.from.startsWith('a caller') || f.from.startsWith('any') || f.from.startsWith('namespace') ? f.from : `a caller of ${f.from}`} ` +
        `into ${f.to}. ` +
        (f.via === 'activator'
          ? `The activator routes by the knative-serving-namespace header, not by Host: add when: [{key: "request.headers[knative-serving-namespace]", values: [<the namespaces this rule's sources may call>]}] to spec.rules[${f.rule}], or declare a peering in the tenancy config.`
          : `List only the tenant's own existing namespaces by exact name (plus knative-serving and istio-system), or declare a peering in the tenancy config.`),
    );
  }
  for (const w of review.warnings) b.warn(w);
}

function malformed(b: DecisionBuilder, e: PolicyShapeError): Decision {
  b.violate(
    'TG-AUTHZ-MALFORMED',
    e.path,
    `${e.message}. The tenant guard cannot tell which paths this policy opens, so it is denied; fix the field to the AuthorizationPolicy schema (${ISTIO_AP}).`,
  );
  return b.build();
}

export const authorizationPolicyModule: RuleModule = {
  handlers: { [groupKind('security.istio.io', 'AuthorizationPolicy')]: handle },
  rules: authorizationPolicyRules,
};
