// The fields of a PeerAuthentication spec, as the security.istio.io CRD
// (v1 / v1beta1 openAPIV3Schema) defines them: selector.matchLabels,
// mtls.mode, portLevelMtls.<port>.mode. A field the model does not know (say
// `mtls: {mod: DISABLE}`) could change what the policy means, so it is
// refused, never dropped.

export interface FieldProblem {
  path: string;
  message: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unknownIn(o: unknown, allowed: string[], path: string): FieldProblem | undefined {
  if (o === undefined || o === null) return undefined;
  if (!isObj(o)) return { path, message: 'must be an object' };
  const k = Object.keys(o).find((x) => !allowed.includes(x));
  return k === undefined ? undefined : { path: `${path}.${k}`, message: `unknown field ${JSON.stringify(k)} (the PeerAuthentication schema has ${allowed.join(', ')})` };
}

/** The first field of a PeerAuthentication spec the CRD does not define, if any. */
export function unknownPeerAuthenticationField(spec: unknown): FieldProblem | undefined {
  const top = unknownIn(spec, ['selector', 'mtls', 'portLevelMtls'], 'spec');
  if (top || !isObj(spec)) return top;
  const found = unknownIn(spec.selector, ['matchLabels'], 'spec.selector') ?? unknownIn(spec.mtls, ['mode'], 'spec.mtls');
  if (found) return found;
  if (spec.portLevelMtls === undefined || spec.portLevelMtls === null) return undefined;
  if (!isObj(spec.portLevelMtls)) return { path: 'spec.portLevelMtls', message: 'must be a map of port to {mode}' };
  for (const [port, v] of Object.entries(spec.portLevelMtls)) {
    const p = unknownIn(v, ['mode'], `spec.portLevelMtls["${port}"]`);
    if (p) return p;
  }
  return undefined;
}
