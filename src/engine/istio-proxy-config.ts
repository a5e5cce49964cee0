// Istio kinds that carry proxy settings the same pod annotations carry:
// ProxyConfig (like proxy.istio.io/config), WorkloadGroup (the metadata and
// the address of auto-registered WorkloadEntries) and Telemetry.

import type { KindHandler, RuleDoc } from './context.js';
import { DecisionBuilder } from './decision.js';
import { FOREIGN_HOST_RULE } from './istio-foreign-hosts.js';
import { checkRevisionLabel, describeObject, isRestricted, namespaceOf, who } from './istio-shared.js';
import { hostProblem, judgesTargets } from './network-targets.js';
import { checkGatewayNameLabel, checkSidecarAnnotations, readMetadata } from './sidecar-metadata-checks.js';
import { proxySelectors } from '../tenancy/proxy-selectors.js';
import type { Decision } from './types.js';
import { reportFindings, workloadScope, type Finding } from './workload-findings.js';

export const PROXY_CONFIG_RULE = 'TG-ISTIO-PROXYCONFIG';
export const TELEMETRY_RULE = 'TG-ISTIO-TELEMETRY';

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

/**
 * ProxyConfig (networking.istio.io/v1beta1): selector, concurrency,
 * environmentVariables, image. Environment variables reach the proxy's agent
 * and Envoy bootstrap (ISTIO_META_*, the same knobs as proxyMetadata, which
 * proxy.istio.io/config may not set either); concurrency and the image type
 * (default, debug, distroless: Istio's own images) are sizing and packaging.
 * https://istio.io/latest/docs/reference/config/networking/proxy-config/
 */
const SAFE_PROXY_CONFIG_FIELDS = new Set(['selector', 'concurrency', 'image']);
const IMAGE_TYPES = new Set(['default', 'debug', 'distroless']);

export const proxyConfigHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  const spec = ctx.input.object?.spec;
  if (isRestricted(ctx) && spec && typeof spec === 'object') {
    // Istio's own image variants only: the type becomes a suffix of the proxy image's tag.
    const image = (spec as Record<string, unknown>).image;
    const imageType = field(image, 'imageType');
    if (image !== undefined && (Object.keys(image ?? {}).some((k) => k !== 'imageType') || (imageType !== undefined && !IMAGE_TYPES.has(String(imageType))))) {
      b.violate(PROXY_CONFIG_RULE, 'spec.image', `${who(ctx)}: ${describeObject(ctx)} sets spec.image to ${JSON.stringify(image)}: only imageType ${[...IMAGE_TYPES].join(', ')} picks one of Istio's own proxy images.`);
    }
    for (const key of Object.keys(spec)) {
      if (SAFE_PROXY_CONFIG_FIELDS.has(key)) continue;
      b.violate(
        PROXY_CONFIG_RULE,
        `spec.${key}`,
        `${who(ctx)} may not set spec.${key} in ${describeObject(ctx)}: ProxyConfig fields beyond concurrency and the image type change how the proxy is configured ` +
          `(environment variables reach the agent and the Envoy bootstrap, like proxyMetadata in proxy.istio.io/config), which can let traffic skip mTLS or the AuthorizationPolicies. ` +
          `Only ${[...SAFE_PROXY_CONFIG_FIELDS].join(', ')} may be set.`,
      );
    }
  }
  checkRevisionLabel(ctx, b);
  return b.build();
};

/**
 * WorkloadGroup: istiod creates a WorkloadEntry from spec.template (its
 * address, labels) with spec.metadata's labels and annotations for each VM
 * that registers, so the template is judged like a WorkloadEntry and the
 * metadata like a pod's.
 * https://istio.io/latest/docs/reference/config/networking/workload-group/
 */
export const workloadGroupHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE' || ctx.actor.role === 'platform-controller') return b.build();
  const spec = ctx.input.object?.spec;
  const ns = namespaceOf(ctx);
  const address = field(field(spec, 'template'), 'address');
  if (judgesTargets(ctx, ns) && typeof address === 'string' && address !== '') {
    const why = address.startsWith('unix://') ? "a Unix domain socket is a file of the proxy's own pod, not a workload" : hostProblem(ctx, address, ns);
    if (why)
      b.violate(
        FOREIGN_HOST_RULE,
        'spec.template.address',
        `${who(ctx)}: ${describeObject(ctx)} stands for workloads at ${JSON.stringify(address)}: ${why}. A WorkloadEntry made from it would alias that address for the tenant's ServiceEntries. Name only addresses outside the cluster.`,
      );
  }
  const findings: Finding[] = [];
  const meta = readMetadata(field(spec, 'metadata'), 'spec.metadata');
  checkSidecarAnnotations(findings, meta, 'spec.metadata', ctx.config);
  // The workloads it registers carry these labels, and root-namespace selectors select them like pods.
  checkGatewayNameLabel(findings, meta, 'spec.metadata', proxySelectors(ctx.config));
  checkGatewayNameLabel(findings, readMetadata({ labels: field(field(spec, 'template'), 'labels') }, 'spec.template'), 'spec.template', proxySelectors(ctx.config));
  reportFindings(b, workloadScope(ctx), findings);
  checkRevisionLabel(ctx, b);
  return b.build();
};

/**
 * Telemetry: metrics, access logs and tracing of the selected proxies, sent
 * to providers the platform declared in meshConfig. In a tenant namespace it
 * reaches the tenant's own proxies; Istio allows a targetRef into another
 * namespace only from the root namespace, which tenants cannot write: a
 * tenant's targetRef naming another namespace is refused here as well, so
 * the object says what it does.
 * https://istio.io/latest/docs/reference/config/telemetry/
 */
export const telemetryHandler: KindHandler = (ctx): Decision => {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  const spec = ctx.input.object?.spec;
  const ns = namespaceOf(ctx);
  if (isRestricted(ctx)) {
    const refs: [unknown, string][] = [];
    if (field(spec, 'targetRef') !== undefined) refs.push([field(spec, 'targetRef'), 'spec.targetRef']);
    const list = field(spec, 'targetRefs');
    if (Array.isArray(list)) list.forEach((r, i) => refs.push([r, `spec.targetRefs[${i}]`]));
    for (const [ref, path] of refs) {
      const refNs = field(ref, 'namespace');
      if (refNs === undefined || refNs === '' || refNs === ns) continue;
      b.violate(
        TELEMETRY_RULE,
        `${path}.namespace`,
        `${who(ctx)}: ${describeObject(ctx)} targets ${String(field(ref, 'kind') ?? '')} ${String(refNs)}/${String(field(ref, 'name') ?? '')}: a tenant's Telemetry may configure only its own namespace's proxies. Remove the namespace.`,
      );
    }
  }
  checkRevisionLabel(ctx, b);
  return b.build();
};


export const proxyConfigRules: RuleDoc[] = [
  {
    id: PROXY_CONFIG_RULE,
    kinds: ['networking.istio.io/ProxyConfig'],
    stops: 'A tenant ProxyConfig setting anything but selector, concurrency and image (environmentVariables above all).',
    why:
      'A ProxyConfig is the proxy.istio.io/config annotation for a whole namespace or selector; its environment variables reach the proxy agent and the Envoy bootstrap ' +
      '(the ISTIO_META_* knobs of proxyMetadata), which TG-WORKLOAD-PROXY-OVERRIDE refuses on pods.',
    cite: 'https://istio.io/latest/docs/reference/config/networking/proxy-config/',
    example: `apiVersion: networking.istio.io/v1beta1
kind: ProxyConfig
metadata: {name: proxy, namespace: tenant-1}
spec:
  environmentVariables: {ISTIO_META_DNS_CAPTURE: "false"}`,
  },
  {
    id: TELEMETRY_RULE,
    kinds: ['telemetry.istio.io/Telemetry'],
    stops: 'A tenant Telemetry whose targetRef(s) name another namespace.',
    why:
      'Telemetry configures what the selected proxies report, to providers the platform chose; a tenant configures its own namespace\'s proxies only (Istio honours cross-namespace targets only from the root namespace, which tenants cannot write).',
    cite: 'https://istio.io/latest/docs/reference/config/telemetry/',
    example: `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: quiet, namespace: tenant-1}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: shared, namespace: istio-system}]
  accessLogging: [{disabled: true}]`,
  },
];
