// Pods and the workloads that stamp out Pods from a template (v1
// ReplicationController; apps/v1 Deployment, StatefulSet, DaemonSet,
// ReplicaSet; batch/v1 Job, CronJob).
//
// Every kind here whose pods kube-controller-manager creates must be judged at
// the template: the controller's own Pod writes are only warned about (it is a
// platform controller), so a template left unjudged would be a way to get pods
// without a sidecar. ReplicationController is the legacy core/v1 one; its
// controller (system:serviceaccount:kube-system:replication-controller)
// creates pods from spec.template like a ReplicaSet's.
//
// Templates are judged so a tenant is refused at `kubectl apply` instead of
// being left with a controller that cannot create its pods. Pods are judged
// too: a bare Pod never passes through a template, and a Pod is where Istio's
// injection has actually happened (see sidecar-injection-status.ts).
//
// Mutation: the tenant label is added to the object and its pod template.
// `sidecar.istio.io/inject` is NOT added here: the namespace's injection label
// already injects every pod (Istio's namespace webhook matches on
// `sidecar.istio.io/inject NotIn [false]`), a label on a Pod would come after
// Istio's injector has run, and one on a template would change the
// pod-template hash and roll every workload for no gain.

import { groupKind, GK } from '../cluster/state.js';
import type { KindHandler, RuleContext, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkSidecarTamper, readInjectionStatus } from './sidecar-injection-status.js';
import type { Decision } from './types.js';
import { reportFindings, workloadScope } from './workload-findings.js';
import { workloadRules } from './workload-rule-docs.js';
import { addLabels, podFindings, POD_AT_ROOT, templateAt, type PodLocation } from './workload-template-checks.js';

function judgesWrite(ctx: RuleContext): boolean {
  // DELETE and CONNECT change no pod spec; nothing to judge or mutate.
  return ctx.input.operation === 'CREATE' || ctx.input.operation === 'UPDATE';
}

function podHandler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (!judgesWrite(ctx)) return b.build();
  const scope = workloadScope(ctx);
  if (scope.mode === 'skip') return b.build();
  const pod = ctx.input.object!;
  const status = readInjectionStatus(pod);
  const findings = [
    ...status.findings,
    ...podFindings(ctx, pod, POD_AT_ROOT, { tenant: scope.tenant, injected: status.injected, userWrittenOnly: false }),
    ...(ctx.input.operation === 'UPDATE' ? checkSidecarTamper(ctx.input.oldObject, pod) : []),
  ];
  reportFindings(b, scope, findings);
  if (scope.mode === 'enforce') addLabels(b, pod, ['metadata'], { [ctx.config.tenantLabel]: scope.tenant });
  return b.build();
}

/**
 * A handler for a kind whose pod template sits at `template`.
 * `templateImmutable`: the API server refuses template changes on UPDATE
 * (batch/v1 Job: spec.template is immutable), so the label is only added on
 * CREATE there; a patch touching it would make every Job update fail.
 */
function templateHandler(template: string[], templateImmutable = false): KindHandler {
  const loc: PodLocation = templateAt(...template);
  return (ctx) => {
    const b = new DecisionBuilder();
    if (!judgesWrite(ctx)) return b.build();
    const scope = workloadScope(ctx);
    if (scope.mode === 'skip') return b.build();
    const obj = ctx.input.object!;
    reportFindings(b, scope, podFindings(ctx, obj, loc, { tenant: scope.tenant, userWrittenOnly: true }));
    if (scope.mode === 'enforce') {
      const label = { [ctx.config.tenantLabel]: scope.tenant };
      addLabels(b, obj, ['metadata'], label);
      if (!(templateImmutable && ctx.input.operation === 'UPDATE')) addLabels(b, obj, loc.meta, label);
    }
    return b.build();
  };
}

export const podModule: RuleModule = {
  handlers: {
    [GK.Pod]: podHandler,
    [groupKind('', 'ReplicationController')]: templateHandler(['spec', 'template']),
    [groupKind('apps', 'Deployment')]: templateHandler(['spec', 'template']),
    [groupKind('apps', 'StatefulSet')]: templateHandler(['spec', 'template']),
    [groupKind('apps', 'DaemonSet')]: templateHandler(['spec', 'template']),
    [groupKind('apps', 'ReplicaSet')]: templateHandler(['spec', 'template']),
    [groupKind('batch', 'Job')]: templateHandler(['spec', 'template'], true),
    [groupKind('batch', 'CronJob')]: templateHandler(['spec', 'jobTemplate', 'spec', 'template']),
  },
  rules: workloadRules,
};
