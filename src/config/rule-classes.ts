// How each rule may be relaxed by the platform's `enforcement` and
// `exceptions` (docs/enforcement.md). The classes, in one place so that a
// new rule is strict until someone decides otherwise:
//
// - fail closed: the engine could not read the object (or judge the request);
//   it is refused whatever the configured action, and no exception lifts it
//   ("a request the engine cannot judge is denied, never allowed by accident").
// - hardening: the rule protects the object's own workloads or namespace
//   (sidecar capture, privileges, the mTLS mode of its namespace, its own
//   routing and proxies); the platform may accept that risk for named objects
//   with an exception scoped by tenant, namespace, kind, name or labels.
// - isolation (everything else): the verdict is about a path between owners
//   (who holds a name, who a policy admits, where traffic or a write goes).
//   An exception would open another tenant, so it must name the exact path
//   (from tenant, to tenant), and only the rules whose verdict honours
//   `peerings` can be lifted that way (PATH_RULES). Paths the platform wants
//   for good are peerings.

/** Refused whatever the action: the engine cannot tell what the object does. */
export const FAIL_CLOSED_RULES: ReadonlySet<string> = new Set(['TG-ENGINE-ERROR', 'TG-AUTHZ-MALFORMED', 'TG-PEERAUTHN-MALFORMED']);

/**
 * Rules about the object's own protection: exceptions need no path.
 * (TG-WORKLOAD-GATEWAY-LABEL is not one: a tenant pod wearing the shared
 * gateway's selector takes the gateway's mesh-root policies, and the
 * reachability model relies on no tenant pod doing so.)
 */
export const HARDENING_RULES: ReadonlySet<string> = new Set([
  'TG-NS-INJECTION-DISABLED',
  'TG-NS-AMBIENT',
  'TG-KNATIVE-INGRESS-CLASS',
  'TG-WORKLOAD-INJECT-OPTOUT',
  'TG-WORKLOAD-CAPTURE-BYPASS',
  'TG-WORKLOAD-PROXY-OVERRIDE',
  'TG-WORKLOAD-RESERVED-CONTAINER',
  'TG-WORKLOAD-PROXY-UID',
  'TG-WORKLOAD-NET-ADMIN',
  'TG-WORKLOAD-HOST-NETWORK',
  'TG-POD-INJECTION-STATUS',
  'TG-POD-SIDECAR-TAMPER',
  'TG-WORKLOAD-HOST-PATH',
  'TG-WORKLOAD-HOST-NAMESPACES',
  'TG-WORKLOAD-CAPABILITIES',
  'TG-WORKLOAD-SETUID',
  'TG-WORKLOAD-EXEC-PROXY',
  'TG-PEERAUTHN-MODE',
  'TG-PEERAUTHN-PORT-MODE',
  'TG-PEERAUTHN-UNSET-NO-STRICT-MESH',
  'TG-PEERAUTHN-WEAKEN',
  'TG-DESTRULE-TLS-MODE',
  'TG-ISTIO-GATEWAY',
  'TG-ISTIO-SIDECAR-INGRESS',
  'TG-ISTIO-ENVOYFILTER',
  'TG-ISTIO-WASMPLUGIN',
  'TG-ISTIO-PLATFORM-EXTENSION',
  'TG-AUTHZ-DRAIN-PATH',
  'TG-AUTHZ-DRAIN-SOURCE',
  'TG-AUTHZ-DRAIN-OPEN',
  'TG-BASELINE-OPEN-WINDOW',
]);

/**
 * Isolation rules whose verdict honours the config's `peerings`: an
 * exception with `path: {from, to}` lifts their violation when judging the
 * same request with from -> to peered clears it (enforcement.ts).
 */
export const PATH_RULES: ReadonlySet<string> = new Set([
  'TG-AUTHZ-OPENS-PATH',
  'TG-AUTHZ-LAST-ALLOW',
  'TG-AUTHZ-FOREIGN-SOURCE',
  'TG-NS-TRUSTED-NAME',
  'TG-ISTIO-VS-DESTINATION',
  'TG-ISTIO-FOREIGN-HOST',
  'TG-SERVICE-EXTERNALNAME',
  'TG-ENDPOINTS-ADDRESS',
]);

/**
 * A rule whose violation makes the engine stop judging the rest of the object
 * (namespace.ts skips the trusted-name and label checks after an ownership
 * finding; peer-authentication.ts skips the weakening check after a content
 * finding). Relaxing it would admit what was never judged, so its effective
 * action is never more lenient than the strictest of the rules it hides, and
 * an exception lifts it only if it would lift each of those too.
 */
export const HIDES: Readonly<Record<string, readonly string[]>> = {
  'TG-NS-TENANT-OWNERSHIP': ['TG-NS-TRUSTED-NAME', 'TG-NS-PROTECTED-LABEL', 'TG-NS-INJECTION-DISABLED', 'TG-NS-REVISION-MISMATCH', 'TG-NS-AMBIENT'],
  'TG-NS-TENANT-AMBIGUOUS': ['TG-NS-TRUSTED-NAME', 'TG-NS-PROTECTED-LABEL', 'TG-NS-INJECTION-DISABLED', 'TG-NS-REVISION-MISMATCH', 'TG-NS-AMBIENT'],
  'TG-NS-TENANT-LABEL-CONFLICT': ['TG-NS-TRUSTED-NAME'],
  'TG-PEERAUTHN-MODE': ['TG-PEERAUTHN-WEAKEN'],
  'TG-PEERAUTHN-PORT-MODE': ['TG-PEERAUTHN-WEAKEN'],
  'TG-PEERAUTHN-UNSET-NO-STRICT-MESH': ['TG-PEERAUTHN-WEAKEN'],
  'TG-PEERAUTHN-MESH-STRICT': ['TG-PEERAUTHN-WEAKEN'],
  'TG-ISTIO-REVISION': ['TG-PEERAUTHN-WEAKEN'],
};

export type RuleClass = 'fail-closed' | 'hardening' | 'isolation (path)' | 'isolation';

export function ruleClass(id: string): RuleClass {
  if (FAIL_CLOSED_RULES.has(id)) return 'fail-closed';
  if (HARDENING_RULES.has(id)) return 'hardening';
  return PATH_RULES.has(id) ? 'isolation (path)' : 'isolation';
}

/** Does a rule reference (an id, a prefix ending in `*`, or `*`) name this rule? */
export function refMatches(ref: string, id: string): boolean {
  return ref.endsWith('*') ? id.startsWith(ref.slice(0, -1)) : ref === id;
}
