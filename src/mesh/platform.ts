import { GK, type ClusterState } from '../cluster/state.js';
import type { Workload } from './policy.js';

// The shared Knative/Istio workloads every tenant's traffic may cross, as a
// default Knative Serving + net-istio install deploys them.

/** knative-serving/activator (config/core/deployments/activator.yaml). */
export const ACTIVATOR: Workload & { serviceAccount: string; ports: string[] } = {
  namespace: 'knative-serving',
  labels: {
    app: 'activator',
    'app.kubernetes.io/component': 'activator',
    'app.kubernetes.io/name': 'knative-serving',
    role: 'activator',
  },
  // The reference setup's RBAC logs show the activator calling out as
  // spiffe://cluster.local/ns/knative-serving/sa/controller.
  serviceAccount: 'controller',
  // Activator's http (8012) and h2c (8013) ports: the ones that proxy to revisions.
  ports: ['8012', '8013'],
};

/** istio-system/istio-ingressgateway, which serves knative-local-gateway. */
export const GATEWAY: Workload & { serviceAccount: string } = {
  namespace: 'istio-system',
  labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
  serviceAccount: 'istio-ingressgateway-service-account',
};

/** queue-proxy's serving ports, where the activator and gateways send requests. */
export const QUEUE_PROXY_PORTS = ['8012', '8013'];

/**
 * Ports a caller can hit on a revision pod directly: queue-proxy http/h2c,
 * the user container (8080 by default), metrics and profiling. The drain
 * port (config.drainPorts, queue-proxy admin 8022) is kept out of the matrix:
 * reaching it is the tolerated wait-for-drain exception, not reaching the service.
 */
export const REVISION_POD_PORTS = ['8012', '8013', '8080', '9090', '9091'];

/** The activator routes by this header; net-istio's VirtualService sets it. */
export const NAMESPACE_HEADER = 'knative-serving-namespace';

export const LOCAL_GATEWAY_NAME = 'knative-local-gateway';

export interface LocalGateway {
  workload: Workload;
  /** Listener ports (destination.port seen by policies on the gateway). */
  ports: string[];
  /** Whether a caller without a mesh identity is accepted (a server not ISTIO_MUTUAL/MUTUAL). */
  acceptsNoIdentity: boolean;
  /** Where the facts come from, for cell reasons. */
  source: string;
}

/**
 * knative-local-gateway as the state describes it (net-istio's Gateway in
 * knative-serving). Its selector labels are added to the gateway pod's.
 * Without the object, the model assumes the reference setup's patch
 * (`tls.mode: ISTIO_MUTUAL`), and every cell reason through it says so.
 */
export function localGateway(state: ClusterState): LocalGateway {
  // net-istio creates it in Knative Serving's namespace (config-istio
  // `local-gateway.knative-serving.knative-local-gateway`); a Gateway of the
  // same name elsewhere (say, one a tenant created) is not the one that serves
  // cluster-local traffic and must not decide this.
  const gw = state.get(GK.Gateway, ACTIVATOR.namespace, LOCAL_GATEWAY_NAME);
  if (!gw) {
    return { workload: GATEWAY, ports: ['8081'], acceptsNoIdentity: false, source: `no ${LOCAL_GATEWAY_NAME} Gateway in the state: assumed tls.mode ISTIO_MUTUAL` };
  }
  const spec = (gw.spec ?? {}) as { selector?: Record<string, unknown>; servers?: unknown };
  const labels = { ...GATEWAY.labels };
  for (const [k, v] of Object.entries(spec.selector ?? {})) if (typeof v === 'string') labels[k] = v;
  const servers = Array.isArray(spec.servers) ? (spec.servers as Array<Record<string, any>>) : [];
  const ports = [...new Set(servers.map((s) => String(s?.port?.number ?? s?.port?.targetPort ?? '')).filter((p) => p !== ''))];
  const mutual = (s: Record<string, any>) => ['ISTIO_MUTUAL', 'MUTUAL'].includes(String(s?.tls?.mode ?? ''));
  const acceptsNoIdentity = servers.length === 0 || servers.some((s) => !mutual(s));
  return {
    workload: { namespace: GATEWAY.namespace, labels },
    ports: ports.length > 0 ? ports : ['8081'],
    acceptsNoIdentity,
    source: `${gw.metadata.namespace}/${LOCAL_GATEWAY_NAME}: ${acceptsNoIdentity ? 'a server without ISTIO_MUTUAL accepts callers without mesh identity' : 'every server requires ISTIO_MUTUAL'}`,
  };
}
