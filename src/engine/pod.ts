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
import { ISTIO_CONTAINERS } from './sidecar-podspec-checks.js';
import { guardSetuid, NOTHING_SKIPPED } from './sidecar-setuid-guard.js';
import type { Decision, KubeObject } from './types.js';
import { reportFindings, workloadScope } from './workload-findings.js';
import { workloadRules } from './workload-rule-docs.js';
import { addLabels, OWN_METADATA, podFindings, POD_AT_ROOT, templateAt, type PodLocation } from './workload-template-checks.js';

function containerKeys(pod: KubeObject | undefined): string[] {
  const spec = pod?.spec as Record<string, unknown> | undefined;
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((list) =>
    (Array.isArray(spec?.[list]) ? (spec![list] as { name?: unknown }[]) : []).map((c) => `${list}/${String(c?.name ?? '')}`),
  );
}

function judgesWrite(ctx: RuleContext): boolean {
  // DELETE and CONNECT change no pod spec; nothing to judge or mutate.
  return ctx.input.operation === 'CREATE' || ctx.input.operation === 'UPDATE';
}

/**
 * pods/exec and pods/attach (CONNECT): the request's kind and object are a
 * PodExecOptions/PodAttachOptions whose `container` names the container
 * entered (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
 * "connect GET /api/v1/namespaces/{namespace}/pods/{name}/exec", query
 * `container`). A shell in istio-proxy runs as UID 1337, whose traffic the
 * capture skips, next to the proxy's credentials and Envoy's admin port.
 * kubectl fills `container` from the kubectl.kubernetes.io/default-container
 * annotation or the first container before it calls; a request without one
 * is refused here (the pod and its annotation are not in the cluster state,
 * and the API server's own choice for multi-container pods is to reject it).
 */
function connectHandler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  const sub = ctx.input.subResource;
  if ((sub !== 'exec' && sub !== 'attach') || (ctx.actor.role !== 'tenant' && ctx.actor.role !== 'other')) return b.build();
  if (ctx.tenancy.ownerOf(ctx.input.namespace).type === 'system') return b.build(); // tenants are refused there by TG-SYSTEM-NAMESPACE-WRITE
  const opts = ctx.input.object as unknown as Record<string, unknown> | undefined;
  const container = typeof opts?.container === 'string' ? opts.container : '';
  const pod = `${ctx.input.namespace ?? ''}/${ctx.input.name ?? ''}`;
  if (container === '') {
    b.violate(
      EXEC_RULE,
      'container',
      `${ctx.actor.username}: pods/${sub} into pod ${pod} names no container; tenant-guard cannot tell whether it would enter istio-proxy, so it is refused. Name the container (kubectl ${sub} -c <container>).`,
    );
  } else if (ISTIO_CONTAINERS.has(container)) {
    b.violate(
      EXEC_RULE,
      'container',
      `${ctx.actor.username} may not ${sub} into container "${container}" of pod ${pod}: it is Istio's, running as UID 1337 whose traffic istio-iptables does not capture, ` +
        `next to the proxy's credentials and Envoy's admin interface; a shell there calls other workloads past the sidecar. Use your application container (-c <name>).`,
    );
  }
  return b.build();
}

const EXEC_RULE = 'TG-WORKLOAD-EXEC-PROXY';

function podHandler(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (!judgesWrite(ctx)) return b.build();
  const scope = workloadScope(ctx);
  if (scope.mode === 'skip') return b.build();
  const pod = ctx.input.object!;
  const status = readInjectionStatus(pod);
  // A Pod's containers are immutable once created (only new ephemeral
  // containers can appear), so on UPDATE only new containers are judged for
  // setuid, and refused rather than patched.
  const existing = new Set(ctx.input.operation === 'UPDATE' ? containerKeys(ctx.input.oldObject) : []);
  const findings = status.findings;
  for (const f of podFindings(ctx, pod, POD_AT_ROOT, { tenant: scope.tenant, injected: status.injected, userWrittenOnly: false })) findings.push(f);
  if (ctx.input.operation === 'UPDATE') for (const f of checkSidecarTamper(ctx.input.oldObject, pod)) findings.push(f);
  const setuid = guardSetuid(ctx, b, pod, POD_AT_ROOT.spec, {
    enforce: scope.mode === 'enforce',
    canPatch: ctx.input.operation === 'CREATE',
    skip: (list, name) => status.injected.has(name) || existing.has(`${list}/${name}`),
  });
  for (const f of setuid) findings.push(f);
  reportFindings(b, scope, findings);
  if (scope.mode === 'enforce') addLabels(b, pod, OWN_METADATA, { [ctx.config.tenantLabel]: scope.tenant });
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
    const frozen = templateImmutable && ctx.input.operation === 'UPDATE';
    reportFindings(b, scope, [
      ...podFindings(ctx, obj, loc, { tenant: scope.tenant, userWrittenOnly: true }),
      // An immutable template cannot have changed: nothing new to judge or patch.
      ...(frozen ? [] : guardSetuid(ctx, b, obj, loc.spec, { enforce: scope.mode === 'enforce', canPatch: true, skip: NOTHING_SKIPPED })),
    ]);
    if (scope.mode === 'enforce') {
      const label = { [ctx.config.tenantLabel]: scope.tenant };
      addLabels(b, obj, OWN_METADATA, label);
      if (!(templateImmutable && ctx.input.operation === 'UPDATE')) addLabels(b, obj, loc, label);
    }
    return b.build();
  };
}

/** CONNECT kinds (request.kind of pods/exec and pods/attach), dispatched by src/engine/index.ts. */
export const podConnectHandlers: Record<string, KindHandler> = {
  [groupKind('', 'PodExecOptions')]: connectHandler,
  [groupKind('', 'PodAttachOptions')]: connectHandler,
};

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
