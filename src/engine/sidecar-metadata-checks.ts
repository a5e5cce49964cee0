// Checks on the labels and annotations of a pod (or of what becomes a pod's
// metadata: a pod template, a Knative template, a Revision). These are the
// knobs Istio's sidecar injector and istio-iptables read when the pod is
// created; every one that can leave traffic outside the sidecar is refused.
//
// Sources (Istio 1.2x):
// - injection decision: pkg/kube/inject/inject.go `injectRequired`
// - iptables arguments: manifests/charts/istio-control/istio-discovery/files/injection-template.yaml
// - annotation reference: https://istio.io/latest/docs/reference/config/annotations/

import { parse as parseYaml } from 'yaml';
import type { TenancyConfig } from '../config/types.js';
import type { ProxySelector } from '../tenancy/proxy-selectors.js';
import { parseCidr, rangesOverlap, rangeWithin } from '../net/ip-ranges.js';
import { inClusterRanges } from './network-targets.js';
import type { Tenancy } from '../tenancy/tenancy.js';
import { mapEntryPath, WORKLOAD_RULE, type Finding } from './workload-findings.js';
import { FieldShapeError } from './field-shape-error.js';

export const INJECT_KEY = 'sidecar.istio.io/inject';
export const REVISION_LABEL = 'istio.io/rev';

/**
 * Values of `sidecar.istio.io/inject` that Istio reads as "inject" (or as
 * "no opinion, the namespace decides", for the empty value). Istio lowercases
 * the value and injects for y/yes/true/on; anything else is an opt-out.
 */
export const INJECT_VALUES = new Set(['', 'y', 'yes', 'true', 'on']);

export function isInjectOptOut(value: string): boolean {
  return !INJECT_VALUES.has(value.toLowerCase());
}

/** Ports Istio itself excludes from inbound capture: its status, health and Prometheus ports. */
export const ISTIO_OWN_INBOUND_PORTS = new Set(['15020', '15021', '15090']);

function items(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface CaptureKnob {
  key: string;
  /** True when the value captures at least as much as Istio's default. */
  safe: (value: string) => boolean;
  /**
   * The same test in CEL over the annotation value `v` (src/vap compiles it
   * into the ValidatingAdmissionPolicy; test/unit/vap checks both agree).
   * items(v) is `v.split(',')` with blank items ignored, as `items()` does.
   */
  cel: string;
  /** What the safe values are, for the message. */
  allowed: string;
  /** What an unsafe value does. */
  effect: string;
}

const INBOUND_BYPASS =
  'inbound connections to those ports reach the application directly, without mTLS: PeerAuthentication STRICT and the AuthorizationPolicies that keep other tenants out are not applied';
const OUTBOUND_BYPASS =
  'outbound traffic to those destinations leaves the pod in plaintext, without the workload identity and past any egress policy';

/**
 * Annotations that shape traffic capture. With istio-cni the injector writes
 * several of them onto the pod itself, with the mesh defaults, so a value is
 * judged rather than the mere presence: the defaults (capture everything) are
 * accepted, anything that captures less is refused.
 */
export const CAPTURE_KNOBS: CaptureKnob[] = [
  {
    key: 'traffic.sidecar.istio.io/includeInboundPorts',
    safe: (v) => v.trim() === '*',
    cel: "v.trim() == '*'",
    allowed: '"*" (the default)',
    effect: `ports left out of the list are not redirected to the sidecar; ${INBOUND_BYPASS}`,
  },
  {
    key: 'traffic.sidecar.istio.io/excludeInboundPorts',
    safe: (v) => items(v).every((p) => ISTIO_OWN_INBOUND_PORTS.has(p)),
    cel: "v.split(',').all(p, p.trim() == '' || p.trim() in ['15020', '15021', '15090'])",
    allowed: "only Istio's own ports 15020, 15021, 15090",
    effect: INBOUND_BYPASS,
  },
  {
    key: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
    safe: (v) => v.trim() === '*',
    cel: "v.trim() == '*'",
    allowed: '"*" (the default)',
    effect: `ranges left out of the list are not captured; ${OUTBOUND_BYPASS}`,
  },
  {
    key: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
    safe: (v) => items(v).length === 0,
    cel: "v.split(',').all(p, p.trim() == '')",
    allowed: 'an empty value',
    effect: OUTBOUND_BYPASS,
  },
  {
    key: 'traffic.sidecar.istio.io/excludeOutboundPorts',
    safe: (v) => items(v).length === 0,
    cel: "v.split(',').all(p, p.trim() == '')",
    allowed: 'an empty value',
    effect: OUTBOUND_BYPASS,
  },
  // Only widens capture (istio-iptables -q): ports listed are redirected even
  // when their IP range is not.
  { key: 'traffic.sidecar.istio.io/includeOutboundPorts', safe: () => true, cel: 'true', allowed: 'any value', effect: '' },
  {
    key: 'traffic.sidecar.istio.io/excludeInterfaces',
    safe: (v) => items(v).length === 0,
    cel: "v.split(',').all(p, p.trim() == '')",
    allowed: 'an empty value',
    effect: `traffic on those interfaces is not captured; ${OUTBOUND_BYPASS}`,
  },
  // Both reroute traffic of extra (virtual machine) interfaces through the
  // proxy: they rewrite the pod's iptables beyond the single-workload model
  // the tenant policies assume, and no tenant workload here needs them.
  {
    key: 'traffic.sidecar.istio.io/kubevirtInterfaces',
    safe: (v) => items(v).length === 0,
    cel: "v.split(',').all(p, p.trim() == '')",
    allowed: 'an empty value',
    effect: 'extra interfaces are wired into the capture rules outside the tenant policy model',
  },
  {
    key: 'istio.io/reroute-virtual-interfaces',
    safe: (v) => items(v).length === 0,
    cel: "v.split(',').all(p, p.trim() == '')",
    allowed: 'an empty value',
    effect: 'extra interfaces are wired into the capture rules outside the tenant policy model',
  },
  {
    key: 'sidecar.istio.io/interceptionMode',
    safe: (v) => v === 'REDIRECT' || v === 'TPROXY',
    cel: "v == 'REDIRECT' || v == 'TPROXY'",
    allowed: 'REDIRECT or TPROXY',
    effect: 'NONE installs no capture rules at all: every connection in and out bypasses the sidecar',
  },
  // The status port is added to the excluded inbound ports by the injection
  // template (`excludeInboundPort`), so pointing it at an application port
  // exempts that port from capture.
  {
    key: 'status.sidecar.istio.io/port',
    safe: (v) => v.trim() === '15020',
    cel: "v.trim() == '15020'",
    allowed: '15020 (the default)',
    effect: `the status port is excluded from inbound capture; ${INBOUND_BYPASS}`,
  },
  {
    key: 'ambient.istio.io/bypass-inbound-capture',
    safe: () => false,
    cel: 'false',
    allowed: 'no value (remove it)',
    effect: INBOUND_BYPASS,
  },
];

const CAPTURE_BY_KEY = new Map(CAPTURE_KNOBS.map((k) => [k.key, k]));
export const TRAFFIC_PREFIX = 'traffic.sidecar.istio.io/';

/**
 * Annotations that replace parts of the injected proxy. Any of them lets the
 * workload run a proxy (or proxy configuration) of its choosing in place of
 * the one the mesh trusts to enforce mTLS and authorization.
 */
export const PROXY_OVERRIDES: Record<string, string> = {
  'sidecar.istio.io/proxyImage': 'runs an image of your choosing as the sidecar',
  'sidecar.istio.io/bootstrapOverride': 'replaces the Envoy bootstrap of the sidecar with a ConfigMap of your choosing',
  'sidecar.istio.io/userVolume': 'mounts volumes of your choosing into the sidecar',
  'sidecar.istio.io/userVolumeMount': 'mounts volumes of your choosing into the sidecar',
  'sidecar.istio.io/discoveryAddress': 'points the sidecar at a control plane of your choosing',
  'proxy.istio.io/overrides': 'overrides fields of the injected istio-proxy container (Istio writes it when a pod customizes istio-proxy)',
};

/**
 * ProxyConfig fields a workload may set through `proxy.istio.io/config`:
 * lifecycle and sizing only. Everything else (discoveryAddress,
 * interceptionMode, proxyMetadata, custom bootstrap, ...) can change where the
 * proxy gets its configuration or what it captures.
 */
const SAFE_PROXY_CONFIG_FIELDS = new Set(['holdApplicationUntilProxyStarts', 'terminationDrainDuration', 'drainDuration', 'concurrency', 'proxyStatsMatcher']);

export const PROXY_CONFIG_KEY = 'proxy.istio.io/config';
export const TEMPLATES_KEY = 'inject.istio.io/templates';
/** Istio's default injection template; the others (gateway, grpc-agent, custom ones) do not install a capturing sidecar. */
export const SIDECAR_TEMPLATE = 'sidecar';
export const STATUS_KEY = 'sidecar.istio.io/status';

// Metadata without labels or annotations: shared, never written to.
const NO_STRINGS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const NO_METADATA: MetadataView = Object.freeze({ labels: NO_STRINGS, annotations: NO_STRINGS });

function stringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return NO_STRINGS;
  if (typeof v !== 'object' || Array.isArray(v)) throw new FieldShapeError(`${path} is not a map`);
  const m = v as Record<string, unknown>;
  const keys = Object.keys(m);
  // The common map holds strings only (the API server's schema says so): read
  // it in place instead of copying it. A copy is still made when a value needs
  // String(), and for a "__proto__" key, which the copy below drops (assigning
  // a string to __proto__ is a no-op), so both readings agree.
  let plain = true;
  for (const k of keys) {
    if (typeof m[k] !== 'string' || k === '__proto__') {
      plain = false;
      break;
    }
  }
  if (plain) return m as Record<string, string>;
  const out: Record<string, string> = {};
  for (const k of keys) {
    const val = m[k];
    out[k] = typeof val === 'string' ? val : String(val);
  }
  return out;
}

export interface MetadataView {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Labels and annotations of a metadata object, validated as string maps (read-only: may be the object's own maps). */
export function readMetadata(meta: unknown, path: string): MetadataView {
  if (meta === undefined || meta === null) return NO_METADATA;
  if (typeof meta !== 'object') throw new FieldShapeError(`${path} is not an object`);
  const m = meta as Record<string, unknown>;
  const labels = m.labels === undefined || m.labels === null ? NO_STRINGS : stringMap(m.labels, `${path}.labels`);
  const annotations = m.annotations === undefined || m.annotations === null ? NO_STRINGS : stringMap(m.annotations, `${path}.annotations`);
  return { labels, annotations };
}

// The checks below push into `out` and build paths and messages only for a
// finding: nearly every review has none, and it is the per-review cost.

/** `sidecar.istio.io/inject` opting out, as a label or an annotation. */
const METADATA_MAPS = ['labels', 'annotations'] as const;

export function checkInjectOptOut(out: Finding[], meta: MetadataView, metaPath: string): void {
  for (const map of METADATA_MAPS) {
    const v = meta[map][INJECT_KEY];
    if (v === undefined || !isInjectOptOut(v)) continue;
    out.push({
      rule: WORKLOAD_RULE.injectOptOut,
      path: mapEntryPath(metaPath, map, INJECT_KEY),
      message:
        `${INJECT_KEY}: "${v}" opts the pod out of Istio sidecar injection. A pod without a sidecar has no mesh identity and no capture: ` +
        `its inbound ports take plaintext from any tenant, bypassing PeerAuthentication STRICT and the tenant's AuthorizationPolicies. ` +
        `Remove the ${map === 'labels' ? 'label' : 'annotation'} or set it to "true".`,
    });
  }
}

const SPELLED_V4 = ['::ffff:0:0/96', '64:ff9b::/96'].map((c) => parseCidr(c)!);
const EXCLUDE_RANGES = 'traffic.sidecar.istio.io/excludeOutboundIPRanges';
const INCLUDE_RANGES = 'traffic.sidecar.istio.io/includeOutboundIPRanges';

/**
 * With clusterNetwork declared, an outbound range exclusion that reaches only
 * addresses outside every cluster range (Service, pod and node ranges, plus
 * loopback and link-local) opens no path into another tenant: the excluded
 * traffic leaves the mesh toward the outside (in plaintext, past egress
 * policy), which is the workload's own business. The same holds for an
 * include list that still covers every cluster range. Returns the warning,
 * or undefined when the value may reach into the cluster (or the ranges are
 * not declared: then every private range may be the cluster's).
 * excludeOutboundPorts is not relieved: istio-iptables returns those ports
 * for every destination, in-cluster ones included.
 * (istio/istio tools/istio-iptables/pkg/capture/run.go: -x ranges and -o ports RETURN before the redirect.)
 */
function outsideOnly(key: string, value: string, config: TenancyConfig | undefined): string | undefined {
  if (!config) return undefined;
  const { ranges, configured } = inClusterRanges({ config });
  if (!configured) return undefined;
  const list = items(value).map((v) => ({ text: v, r: parseCidr(v) }));
  if (list.length === 0 || list.some((x) => x.r === undefined)) return undefined;
  if (key === EXCLUDE_RANGES) {
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96) spell IPv4 addresses: judged as in-cluster rather than followed.
    if (list.some((x) => [...ranges, ...SPELLED_V4].some((c) => rangesOverlap(x.r!, c)))) return undefined;
    return `${key}: "${value}" excludes only addresses outside the cluster's ranges (clusterNetwork): connections to ${list.map((x) => x.text).join(', ')} leave the mesh directly, without the sidecar (no mTLS identity, no egress policy, no telemetry); they reach nothing inside the cluster.`;
  }
  if (key === INCLUDE_RANGES) {
    if (list.some((x) => x.text === '*')) return undefined;
    // The declared ranges (loopback and link-local are not captured by an include list either way).
    const n = config.clusterNetwork;
    const declared = [...n.serviceCIDRs, ...n.podCIDRs, ...n.nodeCIDRs].map(parseCidr);
    if (declared.some((c) => c === undefined) || !declared.every((c) => list.some((x) => rangeWithin(c!, x.r!)))) return undefined;
    return `${key}: "${value}" captures every cluster range (clusterNetwork): connections to other addresses outside the cluster leave the mesh directly, without the sidecar (no mTLS identity, no egress policy, no telemetry).`;
  }
  return undefined;
}

/**
 * Capture bypasses and proxy replacements in the annotations of pod metadata.
 * `config` (its clusterNetwork) relieves capture exclusions that reach only
 * addresses outside the cluster (a warning instead of a refusal).
 */
export function checkSidecarAnnotations(out: Finding[], meta: MetadataView, metaPath: string, config?: TenancyConfig): void {
  const annotations = meta.annotations;
  for (const key of Object.keys(annotations)) {
    const value = annotations[key]!;
    const knob = CAPTURE_BY_KEY.get(key);
    if (knob) {
      const relieved = knob.safe(value) ? undefined : outsideOnly(key, value, config);
      if (relieved) out.push({ rule: WORKLOAD_RULE.captureBypass, path: mapEntryPath(metaPath, 'annotations', key), message: relieved, warning: true });
      else if (!knob.safe(value))
        out.push({
          rule: WORKLOAD_RULE.captureBypass,
          path: mapEntryPath(metaPath, 'annotations', key),
          message: `${key}: "${value}" narrows Istio's traffic capture: ${knob.effect}. Remove the annotation (allowed: ${knob.allowed}).`,
        });
      continue;
    }
    if (key.startsWith(TRAFFIC_PREFIX)) {
      out.push({
        rule: WORKLOAD_RULE.captureBypass,
        path: mapEntryPath(metaPath, 'annotations', key),
        message: `${key} is a traffic-capture annotation tenant-guard does not know to be safe; capture knobs can leave connections outside the sidecar (no mTLS, no AuthorizationPolicy). Remove it.`,
      });
      continue;
    }
    // Own keys only: an annotation named toString or constructor is no proxy override.
    const override = Object.hasOwn(PROXY_OVERRIDES, key) ? PROXY_OVERRIDES[key] : undefined;
    if (override) {
      out.push({
        rule: WORKLOAD_RULE.proxyOverride,
        path: mapEntryPath(metaPath, 'annotations', key),
        message:
          `${key} ${override}; the sidecar is what enforces mTLS and the tenant's AuthorizationPolicies, so a replaced one can accept or send traffic the mesh would refuse. ` +
          `Remove the annotation.`,
      });
      continue;
    }
    if (key === PROXY_CONFIG_KEY) out.push(...checkProxyConfig(value, mapEntryPath(metaPath, 'annotations', key)));
    else if (key === TEMPLATES_KEY) {
      const bad = items(value).filter((t) => t !== SIDECAR_TEMPLATE);
      if (bad.length > 0)
        out.push({
          rule: WORKLOAD_RULE.proxyOverride,
          path: mapEntryPath(metaPath, 'annotations', key),
          message:
            `${key}: "${value}" selects injection template(s) ${bad.join(', ')} instead of "${SIDECAR_TEMPLATE}"; other templates (gateway, grpc-agent, custom ones) ` +
            `do not install the capturing sidecar the tenant policies rely on. Remove the annotation.`,
        });
    }
  }
}

function checkProxyConfig(value: string, path: string): Finding[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch {
    parsed = undefined;
  }
  const allowed = [...SAFE_PROXY_CONFIG_FIELDS].join(', ');
  if (parsed === null || parsed === undefined || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return [
      {
        rule: WORKLOAD_RULE.proxyOverride,
        path,
        message: `${PROXY_CONFIG_KEY} is not a YAML/JSON object, so tenant-guard cannot tell what it changes in the sidecar; write it as an object using only ${allowed}.`,
      },
    ];
  }
  const bad = Object.keys(parsed).filter((k) => !SAFE_PROXY_CONFIG_FIELDS.has(k));
  if (bad.length === 0) return [];
  return [
    {
      rule: WORKLOAD_RULE.proxyOverride,
      path,
      message:
        `${PROXY_CONFIG_KEY} sets ${bad.join(', ')}: ProxyConfig fields beyond lifecycle and sizing can change what the sidecar captures or where it takes its configuration from ` +
        `(interceptionMode, discoveryAddress, proxyMetadata, ...), letting traffic skip mTLS or the tenant's AuthorizationPolicies. Only ${allowed} may be set per workload.`,
    },
  ];
}

/** A user-written `sidecar.istio.io/status` (on templates it never comes from Istio, which injects Pods only). */
export function checkNoInjectionStatus(out: Finding[], meta: MetadataView, metaPath: string): void {
  if (meta.annotations[STATUS_KEY] === undefined) return;
  out.push({
    rule: WORKLOAD_RULE.proxyOverride,
    path: mapEntryPath(metaPath, 'annotations', STATUS_KEY),
    message:
      `${STATUS_KEY} is written by Istio's injector on the Pod it injects, never by users: it names the containers Istio treats as its own (the proxy, running as UID 1337, ` +
      `whose traffic is not captured). Remove the annotation.`,
  });
}

/**
 * `istio.io/rev` on a pod selects the control plane that injects it (when the
 * namespace carries no injection label of its own). In the per-tenant
 * control-plane model another tenant's revision would give the pod that
 * tenant's proxy configuration and CA; only the namespace tenant's own
 * revision (or none: the namespace decides) is accepted.
 */
export function checkRevisionLabel(out: Finding[], meta: MetadataView, metaPath: string, tenant: string, tenancy: Tenancy): void {
  const rev = meta.labels[REVISION_LABEL];
  if (rev === undefined) return;
  const own = tenancy.revisionOf(tenant);
  const owner = tenancy.tenantOfRevision(rev);
  const foreign = own !== undefined ? rev !== own : owner !== undefined && owner !== tenant;
  if (!foreign) return;
  const whose = owner ? `tenant ${owner}'s control plane` : 'a control plane that is not tenant ' + tenant + "'s";
  out.push({
    rule: WORKLOAD_RULE.foreignRevision,
    path: mapEntryPath(metaPath, 'labels', REVISION_LABEL),
    message:
      `${REVISION_LABEL}: "${rev}" selects ${whose}; its sidecar would take configuration and certificates from outside tenant ${tenant}'s mesh. ` +
      (own ? `Remove the label or set it to "${own}".` : 'Remove the label: the namespace decides the control plane.'),
  });
}

// Labels by which Istio binds a pod to a Kubernetes Gateway API Gateway
// (pilot/pkg/model/policyattachment.go): a policy with targetRefs to that
// Gateway applies to the pod, and with ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY
// off the pod ignores every namespace-wide and selector-based policy.
export const GATEWAY_NAME_LABELS = ['gateway.networking.k8s.io/gateway-name', 'istio.io/gateway-name'];

/**
 * A workload claiming to be a gateway's proxy: a Gateway API gateway-name
 * label, or every label of the selector of the platform's gateway
 * (`baseline.gatewayPolicy.selector`, `istio: ingressgateway` by default).
 * The gateway's policies live in the mesh root namespace, where a selector
 * selects matching pods of every namespace: a tenant pod wearing the
 * gateway's labels would take the gateway's policies, which admit every
 * tenant for its own Hosts and the public ingress's callers.
 */
export function checkGatewayNameLabel(out: Finding[], meta: MetadataView, metaPath: string, proxies: readonly ProxySelector[] = []): void {
  for (const { owner, consequence, selector } of proxies) {
    const sel = Object.entries(selector);
    if (sel.length === 0 || !sel.every(([k, v]) => meta.labels[k] === v)) continue;
    const [k] = sel[0]!;
    out.push({
      rule: WORKLOAD_RULE.gatewayLabel,
      path: mapEntryPath(metaPath, 'labels', k),
      message:
        `labels ${JSON.stringify(selector)} are the selector of ${owner}: ${consequence}. Use other labels.`,
    });
    break;
  }
  for (const key of GATEWAY_NAME_LABELS) {
    if (meta.labels[key] === undefined) continue;
    out.push({
      rule: WORKLOAD_RULE.gatewayLabel,
      path: mapEntryPath(metaPath, 'labels', key),
      message:
        `${key}: "${meta.labels[key]}" makes Istio treat the pod as the proxy of a Gateway API gateway: AuthorizationPolicies targeting that gateway apply to it, ` +
        `and with selector-based gateway policy disabled it escapes the tenant's namespace-wide and selector-based AuthorizationPolicies, open to every tenant. ` +
        `Gateway pods are deployed by Istio's controller; remove the label.`,
    });
  }
}
