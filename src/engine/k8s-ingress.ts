// networking.k8s.io Ingress, as Istio's ingress controller reads it.
//
// Istio turns an Ingress it processes into routes on the shared ingress
// gateway (pods labelled istio=ingressgateway in istio-system): the Ingress's
// hosts are claimed there for everyone, the same as a VirtualService bound
// to a shared gateway (TG-ISTIO-VS-GATEWAY). Which Ingresses Istio processes,
// in its default ingressControllerMode (DEFAULT), is decided by
// shouldProcessIngressWithClass (istio/istio pilot/pkg/config/kube/ingress):
// - annotation kubernetes.io/ingress.class present: processed when it equals
//   meshConfig.ingressClass ("istio");
// - otherwise spec.ingressClassName naming an existing IngressClass: processed
//   when its controller is istio.io/ingress-controller;
// - otherwise (no class, or a class that does not exist, now or after someone
//   deletes it): processed.
// Only the annotation is a fact a tenant states for tomorrow's cluster: an
// IngressClass can be deleted or recreated with Istio's controller by the
// platform, and then every Ingress naming it becomes Istio's. So a tenant's
// Ingress is admitted only with the annotation naming another class.

import type { KindHandler, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { describeObject, isRestricted, who } from './istio-shared.js';
import type { Decision } from './types.js';

export const INGRESS_RULE = 'TG-INGRESS-ISTIO';
const CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** meshConfig.ingressClass default. */
const ISTIO_CLASS = 'istio';

export const ingressHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE' || !isRestricted(ctx)) return b.build();
  const obj = ctx.input.object!;
  const annotation = obj.metadata.annotations?.[CLASS_ANNOTATION];
  if (annotation !== undefined && annotation !== ISTIO_CLASS) return b.build();
  const className: unknown = obj.spec?.ingressClassName;
  const how =
    annotation !== undefined
      ? `its ${CLASS_ANNOTATION} annotation is "${ISTIO_CLASS}"`
      : typeof className === 'string' && className !== ''
        ? `it names IngressClass "${className}", which Istio processes when that class is Istio's or does not exist (now or after a delete)`
        : 'it names no class, and Istio processes Ingresses without one';
  b.violate(
    INGRESS_RULE,
    annotation !== undefined ? `metadata.annotations["${CLASS_ANNOTATION}"]` : typeof className === 'string' ? 'spec.ingressClassName' : 'spec',
    `${who(ctx)} may not ${ctx.input.operation.toLowerCase()} ${describeObject(ctx)}: ${how}, so its hosts are claimed on the shared Istio ingress gateway for every tenant ` +
      `(the gateway forwards with its istio-system identity, which every tenant admits), the same as a VirtualService bound to a shared gateway. ` +
      `Expose the service through Knative, or for another ingress controller set the annotation ${CLASS_ANNOTATION} to its class (not "${ISTIO_CLASS}").`,
  );
  return b.build();
};

export const ingressRules: RuleDoc[] = [
  {
    id: INGRESS_RULE,
    kinds: ['networking.k8s.io/Ingress'],
    stops: `A tenant Ingress that Istio's ingress controller processes: annotated ${CLASS_ANNOTATION}: istio, or without that annotation (no class, or an ingressClassName, which Istio processes when the class is its own or missing).`,
    why:
      'Istio turns such an Ingress into routes on the shared ingress gateway: its hosts are claimed for every tenant, and the gateway forwards with its istio-system identity, which every tenant admits. ' +
      'Only the annotation naming another class keeps it away from Istio for tomorrow\'s cluster too (an IngressClass can be deleted or recreated).',
    cite: 'istio/istio pilot/pkg/config/kube/ingress shouldProcessIngressWithClass; https://istio.io/latest/docs/tasks/traffic-management/ingress/kubernetes-ingress/',
    example: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: claim, namespace: tenant-1}
spec:
  ingressClassName: istio
  rules:
  - host: hello.tenant-2.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: mine, port: {number: 80}}}}`,
  },
];
