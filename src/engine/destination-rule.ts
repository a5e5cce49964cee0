// DestinationRule: traffic toward services of the mesh keeps Istio mTLS.
//
// A client-side tls setting other than ISTIO_MUTUAL replaces the mesh
// identity on the connection (https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings-TLSmode):
// DISABLE sends plaintext, which a STRICT server refuses, and which reaches
// any port left PERMISSIVE (the drain port) without identity; SIMPLE and
// MUTUAL originate TLS with certificates the writer chose instead of the
// workload's SPIFFE certificate, so the server side no longer learns the
// caller's namespace: a certificate minted by another issuer trusted by the
// mesh, or one issued to another service account, would be taken for that
// identity. Toward hosts outside the mesh (ServiceEntry targets such as
// api.example.com) TLS origination is the normal use and stays allowed.
//
// The tls rule applies to tenants and platform admins. Platform controllers
// get a warning instead: Knative's net-istio creates a DestinationRule with
// tls SIMPLE (credentialName routing-serving-certs, SANs pinned to Knative's
// own data-plane certificates) toward every cluster-local host in the
// tenant's namespace when system-internal-tls is enabled
// (knative-extensions/net-istio pkg/reconciler/ingress/resources/destinationrule.go
// MakeInternalEncryptionDestinationRule); blocking it would stop the Knative
// route from reconciling. exportTo and the istio.io/rev label are judged as
// for the other networking kinds.

import { GK } from '../cluster/state.js';
import type { RuleContext, RuleDoc, RuleModule } from './context.js';
import { DecisionBuilder } from './decision.js';
import { checkDestinationRuleHost } from './istio-foreign-hosts.js';
import { isMeshHost } from './istio-hosts.js';
import { checkExportTo, checkRevisionLabel, describeObject, who } from './istio-shared.js';
import type { Decision } from './types.js';

const KIND = 'networking.istio.io/DestinationRule';

interface TlsSite {
  path: string;
  tls: unknown;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function field(v: unknown, key: string): unknown {
  return v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
}

/** Every place a DestinationRule can carry client TLS settings. */
function tlsSites(spec: unknown): TlsSite[] {
  const sites: TlsSite[] = [];
  const fromPolicy = (policy: unknown, base: string): void => {
    if (field(policy, 'tls') !== undefined) sites.push({ path: `${base}.tls`, tls: field(policy, 'tls') });
    asArray(field(policy, 'portLevelSettings')).forEach((pls, i) => {
      if (field(pls, 'tls') !== undefined) sites.push({ path: `${base}.portLevelSettings[${i}].tls`, tls: field(pls, 'tls') });
    });
  };
  fromPolicy(field(spec, 'trafficPolicy'), 'spec.trafficPolicy');
  asArray(field(spec, 'subsets')).forEach((subset, j) => fromPolicy(field(subset, 'trafficPolicy'), `spec.subsets[${j}].trafficPolicy`));
  return sites;
}

function checkTls(ctx: RuleContext, b: DecisionBuilder): void {
  const spec: unknown = ctx.input.object?.spec;
  const hostValue = field(spec, 'host');
  const host = typeof hostValue === 'string' ? hostValue : undefined;
  if (!isMeshHost(host)) return;
  for (const site of tlsSites(spec)) {
    if (site.tls === null) continue;
    const raw = field(site.tls, 'mode');
    // ClientTLSSettings.mode defaults to DISABLE (the enum's zero value) when a tls block omits it.
    const mode = typeof raw === 'string' && raw !== '' ? raw : 'DISABLE';
    if (mode === 'ISTIO_MUTUAL') continue;
    const effect =
      mode === 'DISABLE'
        ? 'sends plaintext without the caller\'s mesh identity'
        : `originates ${mode} TLS with certificates of the writer\'s choosing instead of the workload\'s SPIFFE certificate, so the server cannot attribute the call to the caller\'s namespace`;
    const path = `${site.path}.mode`;
    const message =
      `${who(ctx)}: ${describeObject(ctx)} sets tls mode ${mode}${raw === undefined ? ' (the default of a tls block without mode)' : ''} toward ` +
      `${host ?? '(no host)'}, a host inside the mesh; traffic to it ${effect}, which bypasses the mTLS identity the tenant AuthorizationPolicies rely on. ` +
      `Use mode ISTIO_MUTUAL or drop the tls block (Istio's auto mTLS).`;
    if (ctx.actor.role === 'platform-controller') b.warn(`TG-DESTRULE-TLS-MODE at ${path} (not enforced on platform controller ${ctx.actor.username}): ${message}`);
    else b.violate('TG-DESTRULE-TLS-MODE', path, message);
  }
}

function handleDestinationRule(ctx: RuleContext): Decision {
  const b = new DecisionBuilder();
  if (ctx.input.operation === 'DELETE') return b.build();
  checkTls(ctx, b);
  checkDestinationRuleHost(ctx, b);
  checkExportTo(ctx, b);
  checkRevisionLabel(ctx, b);
  return b.build();
}

const rules: RuleDoc[] = [
  {
    id: 'TG-DESTRULE-TLS-MODE',
    kinds: [KIND],
    stops:
      'A DestinationRule toward an in-mesh host (short name, *.svc.cluster.local, *.<ns>.svc..., *) with tls mode DISABLE, SIMPLE or MUTUAL, ' +
      'at the top level, in portLevelSettings, or in a subset (tenants and platform admins; a warning for platform controllers).',
    why:
      'DISABLE sends plaintext: refused by STRICT servers, but it reaches any PERMISSIVE port without identity. SIMPLE and MUTUAL originate TLS ' +
      'with certificates the writer chooses instead of the workload\'s SPIFFE certificate, so the callee cannot tell which namespace calls and a ' +
      'certificate issued to another identity would be accepted as that identity. ISTIO_MUTUAL (or no tls block: auto mTLS) keeps the mesh identity. ' +
      'Hosts outside the mesh (ServiceEntry targets) are not judged. Platform controllers only get a warning: Knative\'s net-istio writes SIMPLE DestinationRules ' +
      'pinned to Knative\'s own data-plane certificates when system-internal-tls is enabled.',
    cite:
      'https://istio.io/latest/docs/reference/config/networking/destination-rule/#ClientTLSSettings-TLSmode; https://istio.io/latest/docs/concepts/security/#mutual-tls-authentication; ' +
      'knative-extensions/net-istio pkg/reconciler/ingress/resources/destinationrule.go',
    example: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: plain, namespace: tenant-1}
spec:
  host: hello.tenant-1.svc.cluster.local
  exportTo: ["."]
  trafficPolicy:
    tls: {mode: DISABLE}`,
  },
];

export const destinationRuleModule: RuleModule = {
  handlers: { [GK.DestinationRule]: handleDestinationRule },
  rules,
};
