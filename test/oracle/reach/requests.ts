// Concrete requests for the Istio oracle, hop by hop along a data path:
// - witnessJourney: the model's witness (request-space.ts solveRoute) as the
//   request each hop of its route receives;
// - attackJourney: a sampled foreign request along one of the ways Knative
//   carries a request into the target (the harness's own reading of the
//   paths, docs/authorization-policy.md), with Hosts in every routed form,
//   ports, paths, headers (the routing header included, repeated values
//   joined as Envoy matched them before its CVE-2026-26308 fix), identities
//   of fresh namespaces, of names the policies spell and of other tenants,
//   and plaintext where the hop accepts it.
import type { Assignment } from '../../../src/mesh/formula.js';
import { keysOf, type Witness } from '../../../src/mesh/request-space.js';
import { SHARED } from '../../../src/mesh/compile.js';
import { cidrWitness, CLAIM_LIST_SEPARATOR } from '../../../src/mesh/istio-match.js';
import type { MeshState } from '../../../src/mesh/mesh-state.js';
import { ACTIVATOR, GATEWAY, QUEUE_PROXY_PORTS, REVISION_POD_PORTS } from '../../../src/mesh/platform.js';
import type { DataPath, Route } from '../../../src/mesh/routes.js';
import type { KubeObject } from '../../../src/kube/objects.js';
import { TARGET, TARGET_TENANT, type Rand, type Scenario } from './scenarios.js';

export interface OracleRequest {
  principal: string | null;
  sourceIP: string;
  remoteIP: string;
  destinationIP: string;
  port: number;
  host: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  sni: string;
  jwt: Record<string, unknown> | null;
}

export interface HopCase {
  label: string;
  workload: { namespace: string; labels: Record<string, string> };
  request: OracleRequest;
}

export interface Journey {
  path: DataPath;
  /** Which way along the path (route note). */
  way: string;
  hops: HopCase[];
}

const ROUTING = 'knative-serving-namespace';
// The identities the platform hops forward with, as the model names them (src/mesh/platform.ts, routes.ts).
const ACTIVATOR_PRINCIPAL = `cluster.local/ns/${ACTIVATOR.namespace}/sa/${ACTIVATOR.serviceAccount}`;
const GATEWAY_PRINCIPAL = `cluster.local/ns/${GATEWAY.namespace}/sa/${GATEWAY.serviceAccount}`;

function setPath(o: Record<string, unknown>, path: string[], v: unknown): void {
  let cur = o;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path.at(-1)!] = v;
}

/** The validated token the witness presents (jwt:iss, jwt:sub and claim:[path] variables), or null. */
function witnessJwt(a: Assignment): Record<string, unknown> | null {
  const jwt: Record<string, unknown> = {};
  let any = false;
  for (const [key, v] of a) {
    if (v === undefined) continue;
    if (key === SHARED.jwtIssuer || key === SHARED.jwtSubject) {
      jwt[key === SHARED.jwtIssuer ? 'iss' : 'sub'] = v;
      any = true;
    } else if (key.startsWith('claim:')) {
      const path = JSON.parse(key.slice('claim:'.length)) as string[];
      setPath(jwt, path, v.includes(CLAIM_LIST_SEPARATOR) ? v.split(CLAIM_LIST_SEPARATOR) : v);
      any = true;
    }
  }
  return any ? jwt : null;
}

/** The request hop `i` of the route receives when the caller sends the witness. */
export function witnessJourney(path: DataPath, route: Route, w: Witness): Journey {
  const a = w.assignment;
  const shared: Record<string, string> = {};
  for (const [key, v] of a) if (key.startsWith('header:') && v !== undefined) shared[key.slice('header:'.length)] = v;
  const jwt = witnessJwt(a);
  const hops = route.hops.map((h, i): HopCase => {
    const k = keysOf(route, i);
    const headers = { ...shared };
    for (const [name, v] of h.headerOverrides) headers[name] = v;
    let principal: string | null;
    if (a.has(k.principal)) principal = a.get(k.principal) ?? null;
    // No policy on the way tests this hop's peer: the caller's own, or a namespace nobody holds.
    else principal = h.caller.kind === 'forwarder' ? h.caller.principal : `cluster.local/ns/${w.tokens[0] ?? 'qjzx'}/sa/default`;
    const sourceIP = a.get(k.sourceIp) ?? '10.244.7.7';
    return {
      label: h.label,
      workload: { namespace: h.workload.namespace, labels: { ...h.workload.labels } },
      request: {
        principal,
        sourceIP,
        remoteIP: a.get(k.remoteIp) ?? sourceIP,
        destinationIP: a.get(k.destinationIp) ?? '10.244.9.9',
        port: Number(a.get(k.port) ?? h.ports[0]),
        host: a.get(SHARED.host) ?? (route.hostRoutedTo ? `hello.${route.hostRoutedTo}.svc.cluster.local` : `hello.${TARGET}`),
        method: a.get(SHARED.method) ?? 'GET',
        path: a.get(SHARED.path) ?? '/',
        headers,
        sni: a.get(k.sni) ?? '',
        jwt,
      },
    };
  });
  return { path, way: route.note, hops };
}

/** Hosts that route to `ns` (net-istio's cluster-local forms), Knative's routing reads them case-insensitively. */
export function routesTo(host: string, ns: string, anyPort: boolean): boolean {
  const h = host.toLowerCase();
  const colon = h.indexOf(':');
  const name = colon < 0 ? h : h.slice(0, colon);
  const port = colon < 0 ? undefined : h.slice(colon + 1);
  if (port !== undefined && !anyPort && port !== '80') return false;
  return new RegExp(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.${ns}(\\.svc(\\.cluster\\.local)?)?$`).test(name);
}

/**
 * What the route itself promises of its witness, read without the model: a
 * foreign caller (a namespace the target's tenant does not own, not the
 * platform's), no drain port on a direct call, a Host that routes to the
 * target where the route routes by Host, and a routing header naming the
 * target (alone or as the last or first of repeated values) where the caller
 * names the revision by header.
 */
export function witnessProblems(m: MeshState, route: Route, j: Journey, drainPorts: string[]): string[] {
  const out: string[] = [];
  const first = j.hops[0]!.request;
  const ns = first.principal?.match(/\/ns\/([^/]+)\/sa\//)?.[1];
  if (first.principal !== null && (ns === undefined || !m.ownership.isForeignTo(ns, TARGET_TENANT))) out.push(`caller ${first.principal} is not a foreign caller of ${TARGET_TENANT}`);
  if (j.path === 'direct' && drainPorts.includes(String(first.port))) out.push(`direct call to the drain port ${first.port}`);
  if (route.hostRoutedTo && !routesTo(first.host, route.hostRoutedTo, route.hostAnyPort === true)) out.push(`Host ${first.host} does not route to ${route.hostRoutedTo}`);
  const want = route.callerHeaders.get(ROUTING);
  if (route.callerHeaders.has(ROUTING) && want !== undefined) {
    const v = first.headers[ROUTING] ?? '';
    const parts = v.split(',');
    if (v !== want && parts.at(-1) !== want && parts[0] !== want) out.push(`routing header ${JSON.stringify(v)} does not name ${want}`);
  }
  return out;
}

// --- sampling ----------------------------------------------------------------

/** The constants the scenario's policies spell, by what they are matched against. */
export interface Vocabulary {
  hosts: string[];
  ports: string[];
  methods: string[];
  paths: string[];
  namespaces: string[];
  serviceAccounts: string[];
  ips: string[];
  headers: Map<string, string[]>;
  requestPrincipals: string[];
  claims: string[];
  /** Label sets the policies select, by namespace. */
  selectors: Map<string, Record<string, string>[]>;
}

export function vocabulary(policies: KubeObject[]): Vocabulary {
  const v: Vocabulary = { hosts: [], ports: [], methods: [], paths: [], namespaces: [], serviceAccounts: [], ips: [], headers: new Map(), requestPrincipals: [], claims: [], selectors: new Map() };
  const add = (xs: string[], ys: unknown) => {
    if (Array.isArray(ys)) for (const y of ys) if (typeof y === 'string') xs.push(y);
  };
  for (const p of policies) {
    const spec = (p.spec ?? {}) as Record<string, any>;
    const ns = p.metadata.namespace ?? '';
    if (spec.selector?.matchLabels) v.selectors.set(ns, [...(v.selectors.get(ns) ?? []), spec.selector.matchLabels]);
    for (const r of spec.rules ?? []) {
      for (const f of r.from ?? []) {
        const s = f.source ?? {};
        for (const k of ['namespaces', 'notNamespaces']) add(v.namespaces, s[k]);
        for (const k of ['principals', 'notPrincipals']) {
          for (const x of s[k] ?? []) {
            const m = /\/ns\/([^/*]+)(\/sa\/([^/*]+))?/.exec(x);
            if (m?.[1]) v.namespaces.push(m[1]);
            if (m?.[3]) v.serviceAccounts.push(m[3]);
          }
        }
        for (const x of s.serviceAccounts ?? []) {
          const [a, b] = String(x).split('/');
          if (b) {
            v.namespaces.push(a!);
            v.serviceAccounts.push(b);
          } else v.serviceAccounts.push(a!);
        }
        for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) add(v.ips, s[k]);
        for (const k of ['requestPrincipals', 'notRequestPrincipals']) add(v.requestPrincipals, s[k]);
      }
      for (const t of r.to ?? []) {
        const o = t.operation ?? {};
        for (const k of ['hosts', 'notHosts']) add(v.hosts, o[k]);
        for (const k of ['ports', 'notPorts']) add(v.ports, o[k]);
        for (const k of ['methods', 'notMethods']) add(v.methods, o[k]);
        for (const k of ['paths', 'notPaths']) add(v.paths, o[k]);
      }
      for (const c of r.when ?? []) {
        const vals = [...(c.values ?? []), ...(c.notValues ?? [])] as string[];
        const key = String(c.key);
        const h = /^request\.headers\[(.+)\]$/.exec(key);
        if (h) v.headers.set(h[1]!.toLowerCase(), [...(v.headers.get(h[1]!.toLowerCase()) ?? []), ...vals]);
        else if (key === 'source.namespace') v.namespaces.push(...vals);
        else if (key === 'source.principal') for (const x of vals) v.namespaces.push(/\/ns\/([^/*]+)/.exec(x)?.[1] ?? '');
        else if (key === 'destination.port') v.ports.push(...vals);
        else if (/\.ip$/.test(key)) v.ips.push(...vals);
        else if (key.startsWith('request.auth.claims')) v.claims.push(...vals);
        else if (key === 'request.auth.principal') v.requestPrincipals.push(...vals);
      }
    }
  }
  return v;
}

/** A value meeting pattern `p`, with `t` where the pattern leaves room (`*`, `prefix*`, `*suffix`, `{*}`). */
function meet(p: string, t: string): string {
  if (p === '*') return t;
  if (p.includes('{*}') || p.includes('{**}')) return p.replaceAll('{**}', `${t}/${t}`).replaceAll('{*}', t);
  if (p.startsWith('*')) return t + p.slice(1);
  if (p.endsWith('*')) return p.slice(0, -1) + t;
  return p;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export class Sampler {
  private readonly v: Vocabulary;
  constructor(
    private readonly r: Rand,
    private readonly s: Scenario,
    private readonly m: MeshState,
  ) {
    this.v = vocabulary(s.policies);
  }

  private from(xs: string[], extra: string[]): string {
    const r = this.r;
    if (xs.length > 0 && r.chance(0.6)) return meet(r.pick(xs), r.token());
    return r.pick(extra);
  }

  private foreignNamespace(): string {
    const r = this.r;
    for (let i = 0; i < 20; i++) {
      const x = r.next();
      const ns = x < 0.25 ? 'tenant-2' : x < 0.5 ? r.token() : meet(r.pick(this.v.namespaces.length ? this.v.namespaces : ['*']), r.token()).toLowerCase();
      if (ns.length <= 63 && DNS_LABEL.test(ns) && this.m.ownership.isForeignTo(ns, TARGET_TENANT)) return ns;
    }
    return r.token();
  }

  /** An attacker identity: a foreign namespace's service account, or none where the hop takes plaintext. */
  private attacker(plaintextOk: boolean): string | null {
    const r = this.r;
    if (plaintextOk && r.chance(0.15)) return null;
    const sa = r.chance(0.5) ? 'default' : this.from(this.v.serviceAccounts, ['default', 'controller', 'activator', r.token()]);
    return `cluster.local/ns/${this.foreignNamespace()}/sa/${DNS_LABEL.test(sa) ? sa : 'default'}`;
  }

  private serviceName(): string {
    const r = this.r;
    const labels = this.v.hosts.map((h) => h.replace(/^\*\.?/, '').split('.')[0] ?? '').filter((l) => DNS_LABEL.test(l.toLowerCase()) && !l.startsWith('tenant-'));
    return r.chance(0.4) ? 'hello' : labels.length > 0 && r.chance(0.4) ? r.pick(labels).toLowerCase() : r.token();
  }

  /** A Host that routes to `ns`, in one of net-istio's forms; where a gateway routes `<host>:<anything>`, with such a port. */
  private routedHost(ns: string, anyPort: boolean): string {
    const r = this.r;
    let h = `${this.serviceName()}.${ns}${r.pick(['', '.svc', '.svc.cluster.local'])}`;
    const x = r.next();
    if (x < 0.3) h += ':80';
    else if (anyPort && x < 0.6) {
      const suffixes = this.v.hosts.filter((p) => p.startsWith('*') && p.length > 1).map((p) => p.slice(1));
      h += `:${r.token()}${suffixes.length > 0 && r.chance(0.7) ? r.pick(suffixes) : ''}`;
    }
    return r.chance(0.1) ? h.toUpperCase() : h;
  }

  private freeHost(): string {
    const r = this.r;
    const x = r.next();
    if (x < 0.35) return this.routedHost(TARGET, true);
    if (x < 0.5) return this.routedHost('tenant-2', false);
    if (x < 0.85 && this.v.hosts.length > 0) return meet(r.pick(this.v.hosts), r.token());
    return r.pick([r.token(), `${r.token()}.example.com`, '10.244.3.3', `hello.${TARGET}.svc.cluster.local:8080`]);
  }

  private ip(): string {
    const r = this.r;
    const fromBlocks = this.v.ips.map((b) => cidrWitness(b)).filter((x): x is string => x !== undefined);
    return fromBlocks.length > 0 && r.chance(0.5) ? r.pick(fromBlocks) : r.pick(['10.244.1.7', '192.168.3.4', '198.51.100.23', '2001:db8::17', '172.16.0.9', '10.244.7.1']);
  }

  private port(base: string[], free: boolean): number {
    const r = this.r;
    if (!free) return Number(r.pick(base));
    const all = [...new Set([...base, ...this.v.ports.filter((p) => /^[0-9]+$/.test(p)), '31337'])].filter((p) => !this.s.config.drainPorts.includes(p));
    return Number(r.pick(all));
  }

  private jwt(): Record<string, unknown> | null {
    const r = this.r;
    if (r.chance(0.7)) return null;
    const rp = this.v.requestPrincipals.length > 0 && r.chance(0.7) ? meet(r.pick(this.v.requestPrincipals), r.token()) : `https://issuer/${r.token()}`;
    const cut = rp.lastIndexOf('/');
    const iss = this.v.claims.length > 0 && r.chance(0.3) ? meet(r.pick(this.v.claims), r.token()) : cut > 0 ? rp.slice(0, cut) : rp;
    return { iss, sub: cut > 0 ? rp.slice(cut + 1) : r.token() };
  }

  /** A routing header value that makes the activator route to the target ('' / absent: by the Host). */
  private routingValue(byHeader: boolean): string | undefined {
    const r = this.r;
    const other = this.from(this.v.headers.get(ROUTING) ?? [], ['tenant-2', r.token()]);
    const x = r.next();
    if (byHeader) return x < 0.6 ? TARGET : x < 0.8 ? `${other},${TARGET}` : `${TARGET},${other}`;
    return x < 0.5 ? undefined : x < 0.7 ? '' : x < 0.85 ? `${other},` : `,${other}`;
  }

  private headers(): Record<string, string> {
    const r = this.r;
    const out: Record<string, string> = {};
    for (const [name, vals] of this.v.headers) {
      if (name === ROUTING || r.chance(0.4)) continue;
      out[name] = this.from(vals, [TARGET, 'tenant-2', r.token(), '']);
    }
    if (r.chance(0.1)) out['x-tenant'] = r.pick([TARGET, 'tenant-2']);
    return out;
  }

  /** A label set the hop's pod may carry: its known labels plus selectors of its namespace's and the root's policies that do not contradict them. */
  private labels(ns: string, known: Record<string, string>, reserved: Record<string, string> = {}): Record<string, string> {
    const r = this.r;
    const out = { ...known };
    const sels = [...(this.v.selectors.get(ns) ?? []), ...(ns === this.m.root ? [] : (this.v.selectors.get(this.m.root) ?? []))];
    for (const sel of sels) {
      if (!r.chance(0.5)) continue;
      const entries = Object.entries(sel);
      // A tenant pod never wears the shared gateway's selector labels (TG-WORKLOAD-GATEWAY-LABEL).
      if (Object.keys(reserved).length > 0 && Object.entries(reserved).every(([k, v]) => sel[k] === v)) continue;
      if (entries.every(([k, v]) => out[k] === undefined || out[k] === v)) Object.assign(out, sel);
    }
    return out;
  }

  /**
   * A variant of a journey along `route`: one to three of the caller's
   * choices drawn again (its identity, the Host within what the route routes,
   * the first hop's port on a direct call, method, path, other headers, token,
   * addresses); what the platform hops set stays. `foreign`: the caller's
   * identity is always drawn again, among foreign ones.
   */
  perturb(j: Journey, route: Route, foreign = false): Journey {
    const r = this.r;
    const hops = j.hops.map((h) => ({ ...h, request: { ...h.request, headers: { ...h.request.headers } } }));
    const first = hops[0]!.request;
    // A request of the target's own tenant (or the platform's) re-sent by a foreign caller.
    if (foreign) first.principal = this.attacker(false);
    const all = (f: (q: OracleRequest) => void) => hops.forEach((h) => f(h.request));
    for (let n = (foreign ? 0 : 1) + r.int(3); n > 0; n--) {
      switch (r.int(7)) {
        case 0:
          if (first.principal !== null || r.chance(0.5)) first.principal = this.attacker(false);
          break;
        case 1: {
          const host = route.hostRoutedTo ? this.routedHost(route.hostRoutedTo, route.hostAnyPort === true) : this.freeHost();
          all((q) => (q.host = host));
          break;
        }
        case 2:
          if (j.path === 'direct') first.port = this.port(REVISION_POD_PORTS, true);
          break;
        case 3: {
          const method = this.from(this.v.methods, ['GET', 'POST', 'PUT']);
          const path = this.from(this.v.paths, ['/', '/admin', `/${r.token()}`]);
          all((q) => ((q.method = method), (q.path = path)));
          break;
        }
        case 4: {
          const extra = this.headers();
          // (never the routing header: the route decides it)
          all((q) => Object.assign(q.headers, extra));
          break;
        }
        case 5: {
          const jwt = this.jwt();
          all((q) => (q.jwt = jwt));
          break;
        }
        case 6:
          first.sourceIP = this.ip();
          first.remoteIP = r.chance(0.5) ? first.sourceIP : this.ip();
          first.destinationIP = this.ip();
          break;
      }
    }
    return { ...j, way: `${j.way} (varied)`, hops };
  }

  /** One sampled foreign request along one way of `path` into the target. */
  journey(path: DataPath): Journey {
    const r = this.r;
    const s = this.s;
    const anyPort = s.config.istio?.gatewayStripHostPort !== true;
    const gw = this.m.gateway;
    const podLabels = () => this.labels(TARGET, {}, s.config.baseline.gatewayPolicy.selector);
    const pod = (label: string) => ({ namespace: TARGET, labels: podLabels(), label });
    const activator = () => ({ namespace: ACTIVATOR.namespace, labels: this.labels(ACTIVATOR.namespace, ACTIVATOR.labels), label: 'activator' });
    const gateway = () => ({ namespace: gw.workload.namespace, labels: this.labels(gw.workload.namespace, gw.workload.labels), label: 'knative-local-gateway' });
    const method = this.from(this.v.methods, ['GET', 'POST', 'PUT', 'DELETE']);
    const reqPath = this.from(this.v.paths, ['/', '/admin', `/${r.token()}`, '/api/v1/x', '/x.json?y=1']);
    const jwt = this.jwt();
    const headers = this.headers();
    type Leg = { w: { namespace: string; labels: Record<string, string>; label: string }; principal: string | null; port: number; override: boolean };
    const leg = (w: Leg['w'], principal: string | null, port: number, override: boolean): Leg => ({ w, principal, port, override });
    let way: string;
    let host: string;
    let routing: string | undefined = r.chance(0.2) ? this.routingValue(r.chance(0.5)) : undefined;
    let legs: Leg[];
    const qp = () => this.port(QUEUE_PROXY_PORTS, false);
    switch (path) {
      case 'direct':
        way = 'caller -> pod';
        host = this.freeHost();
        legs = [leg(pod('pod'), this.attacker(s.plaintextAt.pod), this.port(REVISION_POD_PORTS, true), false)];
        break;
      case 'activator': {
        const byHeader = r.chance(0.6);
        way = byHeader ? 'caller -> activator (by header) -> pod' : 'caller -> activator (by Host) -> pod';
        host = byHeader ? this.freeHost() : this.routedHost(TARGET, false);
        routing = this.routingValue(byHeader);
        legs = [leg(activator(), this.attacker(s.plaintextAt.activator), this.port(ACTIVATOR.ports, false), false), leg(pod('pod'), ACTIVATOR_PRINCIPAL, qp(), false)];
        break;
      }
      case 'gateway-activator':
        if (r.chance(0.4)) {
          way = "caller's sidecar routes the Host -> activator -> pod";
          host = this.routedHost(TARGET, false);
          legs = [leg(activator(), this.attacker(s.plaintextAt.activator), this.port(ACTIVATOR.ports, false), true), leg(pod('pod'), ACTIVATOR_PRINCIPAL, qp(), true)];
        } else {
          way = 'caller -> knative-local-gateway -> activator -> pod';
          host = this.routedHost(TARGET, anyPort);
          legs = [
            leg(gateway(), this.attacker(s.plaintextAt.gateway), this.port(gw.ports, false), false),
            leg(activator(), GATEWAY_PRINCIPAL, this.port(ACTIVATOR.ports, false), true),
            leg(pod('pod'), ACTIVATOR_PRINCIPAL, qp(), true),
          ];
        }
        break;
      case 'gateway':
        if (r.chance(0.4)) {
          way = "caller's sidecar routes the Host -> pod";
          host = this.routedHost(TARGET, false);
          legs = [leg(pod('pod'), this.attacker(s.plaintextAt.pod), qp(), true)];
        } else {
          way = 'caller -> knative-local-gateway -> pod';
          host = this.routedHost(TARGET, anyPort);
          legs = [leg(gateway(), this.attacker(s.plaintextAt.gateway), this.port(gw.ports, false), false), leg(pod('pod'), GATEWAY_PRINCIPAL, qp(), true)];
        }
        break;
    }
    const sent = { ...headers, ...(routing !== undefined ? { [ROUTING]: routing } : {}) };
    const hops = legs.map((l): HopCase => {
      const sourceIP = this.ip();
      return {
        label: l.w.label,
        workload: { namespace: l.w.namespace, labels: l.w.labels },
        request: {
          principal: l.principal,
          sourceIP,
          remoteIP: r.chance(0.7) ? sourceIP : this.ip(),
          destinationIP: this.ip(),
          port: l.port,
          host,
          method,
          path: reqPath,
          headers: l.override ? { ...sent, [ROUTING]: TARGET } : sent,
          sni: r.chance(0.9) ? '' : `outbound_.8080_._.hello.${TARGET}.svc.cluster.local`,
          jwt,
        },
      };
    });
    return { path, way, hops };
  }
}

