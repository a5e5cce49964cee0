// Knative Serving's Service, Configuration and Revision (serving.knative.dev,
// any version). Service and Configuration carry the pod template at
// spec.template; a Revision has none: its own metadata and spec become the
// pod's (Knative copies Revision labels and annotations onto the Deployment's
// pod template, pkg/reconciler/revision/resources/deploy.go).
//
// Mutation: the tenant label on the object and on the template, and the
// LABEL `sidecar.istio.io/inject: "true"` on the template. Istio reads the
// label in preference to the (deprecated) annotation, and only the label is
// seen by the injector webhook's objectSelector, so it keeps injection on
// even if the namespace label were lost. The reference setup's OpenShift
// manifests carry the annotation 'true'; both agree and both stay.
// https://istio.io/latest/docs/setup/additional-setup/sidecar-injection/#controlling-the-injection-policy
//
// Knative creates a new Revision whenever spec.template changes, so the first
// UPDATE of a Service created before tenant-guard also rolls out a Revision
// (carrying the added labels). Objects written by Knative's controllers (a
// Configuration from a Service, Revisions) are not mutated: their templates
// come from the object the tenant wrote, already labelled.

import { GK, groupKind } from '../cluster/state.js';
import { who } from './istio-shared.js';
import { hostProblem, judgesTargets, namespaceProblem } from './network-targets.js';
import { externalNameOf } from './service-aliases.js';
import { guardSetuid, NOTHING_SKIPPED } from './sidecar-setuid-guard.js';
import type { KindHandler, RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkInjectOptOut, INJECT_KEY, readMetadata } from './sidecar-metadata-checks.js';
import type { Decision, KubeObject } from './types.js';
import { DOMAIN_MAPPING_NAME_RULE } from './domain-mapping-claims.js';
import { mapEntryPath, reportFindings, workloadScope, type Finding } from './workload-findings.js';
import { mapValue } from './workload-labels.js';
import { addLabels, OWN_METADATA, podFindings, POD_AT_ROOT, templateAt, valueAt, type PodLocation } from './workload-template-checks.js';

export const INGRESS_CLASS_KEY = 'networking.knative.dev/ingress.class';
/** net-istio's class; Knative routes a Service through the KIngress implementation its class names. */
export const ISTIO_INGRESS_CLASS = 'istio.ingress.networking.knative.dev';
const INGRESS_CLASS_RULE = 'TG-KNATIVE-INGRESS-CLASS';

/**
 * A Service's annotations are copied onto its Route, whose ingress class picks
 * the KIngress implementation (knative.dev/networking IngressClassAnnotationKey).
 * Any class but Istio's routes the Service through an ingress outside the mesh
 * policies set up for the tenants (knative-local-gateway, the activator rules).
 */
function checkIngressClass(ctx: RuleContext, out: Finding[] = []): Finding[] {
  const value = ctx.input.object!.metadata.annotations?.[INGRESS_CLASS_KEY];
  if (value === undefined || value === ISTIO_INGRESS_CLASS) return out;
  out.push({
    rule: INGRESS_CLASS_RULE,
    path: mapEntryPath('metadata', 'annotations', INGRESS_CLASS_KEY),
    message:
      `${INGRESS_CLASS_KEY}: "${value}" routes this ${ctx.input.kind.kind} through an ingress other than Istio's; that ingress is not the mesh gateway the tenants' ` +
      `AuthorizationPolicies and PeerAuthentication trust, so its traffic is not bound to tenant identities. Remove the annotation or set it to "${ISTIO_INGRESS_CLASS}".`,
  });
  return out;
}

interface KnativeKind {
  /** Where the pod's metadata and spec are. */
  pod: PodLocation;
  /** The object's own metadata differs from the pod's (Service, Configuration). */
  hasTemplate: boolean;
  ingressClass: boolean;
}

/**
 * Knative labels a revision's pods `app: <revision name>` unless the template
 * sets `app` (knative/serving pkg/reconciler/revision/resources/meta.go
 * makeLabels), and the tenant picks the revision's name (the template's
 * metadata.name, or a Revision's own): a name equal to a shared proxy's `app`
 * would complete its selector on the pods.
 */
function implicitRevisionLabels(obj: KubeObject, kind: KnativeKind): Record<string, string> | undefined {
  const meta = valueAt(obj, kind.pod.meta) as { name?: unknown } | undefined;
  const name = kind.hasTemplate ? meta?.name : obj.metadata.name;
  return typeof name === 'string' && name !== '' ? { app: name } : undefined;
}

function knativeHandler(kind: KnativeKind): KindHandler {
  return (ctx): Decision => {
    const b = new DecisionBuilder();
    if (ctx.input.operation !== 'CREATE' && ctx.input.operation !== 'UPDATE') return b.build();
    const scope = workloadScope(ctx);
    if (scope.mode === 'skip') return b.build();
    const obj = ctx.input.object!;
    const pod = podFindings(ctx, obj, kind.pod, { tenant: scope.tenant, userWrittenOnly: true, implicitLabels: implicitRevisionLabels(obj, kind) });
    const setuid = guardSetuid(ctx, b, obj, kind.pod.spec, { enforce: scope.mode === 'enforce', canPatch: true, skip: NOTHING_SKIPPED });
    // An opt-out on the Service/Configuration itself states the intent as
    // clearly as one on the template: refuse it too (reported first, read
    // last: a malformed template is the error named when both are).
    const findings: Finding[] = [];
    if (kind.hasTemplate) checkInjectOptOut(findings, readMetadata(obj.metadata, 'metadata'), 'metadata');
    for (const f of pod) findings.push(f);
    for (const f of setuid) findings.push(f);
    if (kind.ingressClass) checkIngressClass(ctx, findings);
    reportFindings(b, scope, findings);
    if (scope.mode === 'enforce') {
      const tenantLabel = ctx.config.tenantLabel;
      const podLabels: Record<string, string> = { [tenantLabel]: scope.tenant };
      // Keep any true value the user chose (y, yes, on); add "true" when absent.
      if (mapValue(obj, kind.pod.labels, INJECT_KEY) === undefined) podLabels[INJECT_KEY] = 'true';
      if (kind.hasTemplate) addLabels(b, obj, OWN_METADATA, { [tenantLabel]: scope.tenant });
      addLabels(b, obj, kind.pod, podLabels);
    }
    return b.build();
  };
}

/**
 * A Route carries no pod template, but Knative reads the same ingress-class
 * annotation from it: judge that and nothing else (DomainMapping: below).
 */
function ingressOnlyHandler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation !== 'CREATE' && ctx.input.operation !== 'UPDATE') return b.build();
  const scope = workloadScope(ctx);
  if (scope.mode === 'skip') return b.build();
  reportFindings(b, scope, checkIngressClass(ctx));
  return b.build();
}

const DOMAIN_MAPPING_REF_RULE = 'TG-KNATIVE-DOMAINMAPPING-REF';

/**
 * A DomainMapping's spec.ref is the Addressable the mapped domain is routed
 * to by the ingress gateway, which forwards with its own istio-system
 * identity: it must stay inside the tenant, and a core Service it names must
 * not be an ExternalName alias of something outside (see service-aliases.ts).
 * https://knative.dev/docs/serving/services/custom-domains/
 */
function checkDomainMappingRef(ctx: RuleContext): Finding[] {
  const ns = ctx.input.namespace ?? ctx.input.object!.metadata.namespace ?? '';
  if (ctx.actor.role === 'platform-controller' || !judgesTargets(ctx, ns)) return [];
  const ref: unknown = ctx.input.object!.spec?.ref;
  const out: Finding[] = [];
  const refNs: unknown = ref && typeof ref === 'object' ? (ref as Record<string, unknown>).namespace : undefined;
  const targetNs = typeof refNs === 'string' && refNs !== '' ? refNs : ns;
  const nsWhy = namespaceProblem(ctx, targetNs, ns);
  if (nsWhy) {
    out.push({
      rule: DOMAIN_MAPPING_REF_RULE,
      path: 'spec.ref.namespace',
      message: `${who(ctx)}: DomainMapping ${ns}/${ctx.input.object!.metadata.name ?? ''} maps its domain to ${targetNs}: ${nsWhy}. The ingress gateway would carry the domain's traffic there with its own identity. Map only to services of your own tenant.`,
    });
    return out;
  }
  const r = (ref ?? {}) as Record<string, unknown>;
  if (r.kind === 'Service' && r.apiVersion === 'v1' && typeof r.name === 'string') {
    const target = externalNameOf(ctx.state.get(groupKind('', 'Service'), targetNs, r.name));
    const why = target === undefined ? undefined : hostProblem(ctx, target, targetNs);
    if (why) {
      out.push({
        rule: DOMAIN_MAPPING_REF_RULE,
        path: 'spec.ref.name',
        message: `${who(ctx)}: DomainMapping ${ns}/${ctx.input.object!.metadata.name ?? ''} maps its domain to Service ${targetNs}/${r.name}, an ExternalName alias of ${JSON.stringify(target)}: ${why}. Map only to services of your own tenant.`,
      });
    }
  }
  return out;
}


/**
 * A DomainMapping's name is the domain it claims on the ingress gateway
 * (first come, first served, through the ClusterDomainClaim Knative creates
 * with `autocreate-cluster-domain-claims`). A tenant claiming a name of
 * another tenant's namespace hijacks that tenant's Hosts: the cluster-local
 * forms `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`, and
 * the public form of Knative's default domain template
 * `{{.Name}}.{{.Namespace}}.{{.Domain}}` (config-network domain-template),
 * whose second label is the namespace. Cluster-local forms are judged for
 * tomorrow too (a name nobody holds yet is any tenant's); a public domain's
 * second label only against namespaces someone holds, since custom domains
 * (`shop.example.com`) are what DomainMappings are for.
 * https://knative.dev/docs/serving/services/custom-domains/
 */
function checkDomainMappingName(ctx: RuleContext): Finding[] {
  const ns = ctx.input.namespace ?? ctx.input.object!.metadata.namespace ?? '';
  if (ctx.actor.role === 'platform-controller' || !judgesTargets(ctx, ns)) return [];
  const name = (ctx.input.object!.metadata.name ?? '').toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (labels.length < 2) return [];
  const claimed = labels[1]!;
  const domain = ctx.config.baseline.clusterDomain;
  // `<svc>.<ns>.svc[.<clusterDomain>]` can only be a Host of namespace <ns>; `<svc>.<ns>` is also
  // every two-label public domain (example.com), so it is judged like one.
  const svcForm = labels.length >= 3 && labels[2] === 'svc' && (labels.length === 3 || labels.slice(3).join('.') === domain);
  const clusterLocal = svcForm || labels.length === 2;
  const owner = ctx.tenancy.ownerOf(claimed);
  const held = owner.type !== 'none' || ctx.state.get(groupKind('', 'Namespace'), undefined, claimed) !== undefined;
  if (!svcForm && !held) return [];
  const why = namespaceProblem(ctx, claimed, ns);
  if (!why) return [];
  return [
    {
      rule: DOMAIN_MAPPING_NAME_RULE,
      path: 'metadata.name',
      message:
        `${who(ctx)}: DomainMapping ${ns}/${name} claims a domain of namespace ${claimed} (${clusterLocal ? 'a cluster-local Host of it' : "its services' Host under Knative's default domain template {{.Name}}.{{.Namespace}}.{{.Domain}}"}): ` +
        `${why}${held ? '' : ' (nobody holds the name yet: whoever creates it tomorrow owns those Hosts)'}. The ingress gateway would route that Host to this mapping instead. Map a domain of your own.`,
    },
  ];
}

function domainMappingHandler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation !== 'CREATE' && ctx.input.operation !== 'UPDATE') return b.build();
  // The ref is judged wherever the mapping lives (a tenant in a namespace of no tenant still may not map into another's).
  for (const f of checkDomainMappingRef(ctx)) b.violate(f.rule, f.path, f.message);
  for (const f of checkDomainMappingName(ctx)) b.violate(f.rule, f.path, f.message);
  const scope = workloadScope(ctx);
  if (scope.mode !== 'skip') reportFindings(b, scope, checkIngressClass(ctx));
  return b.build();
}

const knativeRules: RuleDoc[] = [
  {
    id: DOMAIN_MAPPING_REF_RULE,
    kinds: ['serving.knative.dev/DomainMapping'],
    stops:
      'A DomainMapping whose spec.ref lives in another tenant\'s, a platform or an unowned namespace, or names a core Service that is an ExternalName alias of a platform or foreign service ' +
      '(tenants anywhere, platform admins in tenant namespaces).',
    why:
      'The ingress gateway routes the mapped domain to the ref and forwards with its istio-system identity, which every tenant admits: a ref outside the tenant, or an alias pointing out of it, ' +
      'is a public path into another tenant or into the platform.',
    cite: 'https://knative.dev/docs/serving/services/custom-domains/',
    example: `apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: shop.example.com, namespace: tenant-1}
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello, namespace: tenant-2}`,
  },
  {
    id: DOMAIN_MAPPING_NAME_RULE,
    kinds: ['serving.knative.dev/DomainMapping', 'Namespace'],
    stops:
      "A DomainMapping named after another tenant's (or a platform) namespace's Hosts: `<svc>.<ns>.svc` or `<svc>.<ns>.svc.<clusterDomain>` (for names nobody holds yet too), " +
      "or `<svc>.<ns>` or a public domain whose second label is a namespace someone else holds (Knative's default domain template `{{.Name}}.{{.Namespace}}.{{.Domain}}`). Tenants anywhere, platform admins in tenant namespaces. " +
      'And the other order: creating (or giving to another tenant) a namespace whose name a DomainMapping of another tenant already claims that way.',
    why:
      'The mapping\'s name is the domain it claims on the ingress gateway, first come first served (ClusterDomainClaim, autocreated with autocreate-cluster-domain-claims): ' +
      "a tenant claiming another tenant's Host takes its traffic, a hijack of that tenant's name. Custom domains of the tenant's own (`shop.example.com`) are not judged; other domain templates are not known to tenant-guard.",
    cite: 'https://knative.dev/docs/serving/services/custom-domains/; knative/serving config-network domain-template',
    example: `apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: hello.tenant-1.svc.cluster.local, namespace: tenant-2}
spec:
  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello, namespace: tenant-2}`,
  },
  {
    id: INGRESS_CLASS_RULE,
    kinds: ['serving.knative.dev/Service', 'serving.knative.dev/Route', 'serving.knative.dev/DomainMapping'],
    stops: `A Knative Service, Route or DomainMapping annotated ${INGRESS_CLASS_KEY} with a class other than Istio's (${ISTIO_INGRESS_CLASS}).`,
    why:
      'The ingress class picks the KIngress implementation that exposes the Service. The tenant isolation of the reference setup is built on the Istio gateways ' +
      '(knative-local-gateway with ISTIO_MUTUAL, AuthorizationPolicies allowing istio-system); another ingress reaches the workloads outside those policies. ' +
      'Judged in tenant namespaces for everyone but platform controllers.',
    cite: 'https://knative.dev/docs/serving/services/ingress-class/',
    example: `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: other-ingress
  namespace: tenant-1
  annotations: {networking.knative.dev/ingress.class: kourier.ingress.networking.knative.dev}
spec:
  template:
    spec:
      containers: [{image: kennethreitz/httpbin}]`,
  },
];

export const knativeModule: RuleModule = {
  handlers: {
    [GK.KnativeService]: knativeHandler({ pod: templateAt('spec', 'template'), hasTemplate: true, ingressClass: true }),
    [GK.KnativeConfiguration]: knativeHandler({ pod: templateAt('spec', 'template'), hasTemplate: true, ingressClass: false }),
    [GK.KnativeRevision]: knativeHandler({ pod: POD_AT_ROOT, hasTemplate: false, ingressClass: false }),
    [GK.KnativeRoute]: ingressOnlyHandler,
    [GK.KnativeDomainMapping]: domainMappingHandler,
  },
  rules: knativeRules,
};
