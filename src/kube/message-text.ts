// Messages that name objects, rendered for whoever reads them. A tenant admin
// normally cannot list another tenant's objects at all, so a denial or warning
// sent to a tenant caller must not hand them out: it names the caller's own
// objects and the platform's, and another tenant's only as "a policy of
// tenant tenant-1" (tenant names are not secret; object names, rule indexes,
// selectors and hosts are). Rule code never decides that: it builds a
// MessageText whose object references carry the tenant holding them, and the
// one renderer below redacts for the audience. Platform admins, controllers,
// `check` and `audit` read the full rendering (also the message's `toString`).

/** An object a message names, with the tenant that holds it. */
export interface ObjectRef {
  /** The words a platform admin reads: kind, namespace/name and any rule fields, e.g. `AuthorizationPolicy tenant-1/allow (rules[0]...)`. */
  readonly full: string;
  /** The tenant holding the object's namespace; undefined for the platform's objects and nobody's. */
  readonly tenant: string | undefined;
  /** What it is, in the redacted words: `policy` gives "a policy of tenant tenant-1". */
  readonly noun: string;
}

/** Several objects in a row (`a; b; and 2 more`): hidden ones are counted by tenant rather than repeated. */
export interface RefList {
  readonly refs: readonly ObjectRef[];
  readonly separator: string;
  /** How many more the full rendering leaves out ("and N more"). */
  readonly more: number;
  /** The plural of the refs' noun. */
  readonly plural: string;
}

/**
 * Words only platform readers see, e.g. an exception's message, which can
 * name whatever object the engine was reading: others read `instead`.
 */
export interface Withheld {
  readonly full: string;
  readonly instead: string;
}

type Part = string | ObjectRef | RefList | Withheld;

/** Who reads a message: everything (platform), or the tenants whose objects the reader may see named. */
export type Audience = { readonly full: true } | { readonly full: false; readonly tenants: readonly string[] };

export const FULL_AUDIENCE: Audience = { full: true };

/** A message with the objects it names kept as references. Its `toString()` is the full rendering. */
export class MessageText {
  private fullText?: string;
  constructor(readonly parts: readonly Part[]) {}

  /** Whether some audience would read it differently (it names a tenant's object). */
  get namesTenantObjects(): boolean {
    return this.parts.some((p) => typeof p !== 'string' && ('refs' in p ? p.refs.some((r) => r.tenant !== undefined) : 'instead' in p || p.tenant !== undefined));
  }

  toString(): string {
    return (this.fullText ??= render(this, FULL_AUDIENCE));
  }
}

export function ref(full: string, tenant: string | undefined, noun: string): ObjectRef {
  return { full, tenant, noun };
}

export function withheld(full: string, instead: string): Withheld {
  return { full, instead };
}

export function refList(refs: readonly ObjectRef[], options: { separator: string; max: number; plural: string }): RefList {
  return { refs: refs.slice(0, options.max), separator: options.separator, more: Math.max(0, refs.length - options.max), plural: options.plural };
}

/**
 * A tagged template for messages: `msg\`"${name}" is trusted by ${refs}.\``.
 * Interpolated refs, ref lists and MessageTexts stay structured; anything else
 * is written as text.
 */
export function msg(strings: TemplateStringsArray, ...values: unknown[]): MessageText {
  const parts: Part[] = [];
  const push = (p: Part) => {
    if (typeof p === 'string' && typeof parts.at(-1) === 'string') parts[parts.length - 1] += p;
    else if (p !== '') parts.push(p);
  };
  strings.forEach((s, i) => {
    push(s);
    if (i >= values.length) return;
    const v = values[i];
    if (v instanceof MessageText) v.parts.forEach(push);
    else if (isRef(v) || isRefList(v) || isWithheld(v)) push(v);
    else push(String(v));
  });
  return new MessageText(parts);
}

function isRef(v: unknown): v is ObjectRef {
  return typeof v === 'object' && v !== null && typeof (v as ObjectRef).full === 'string' && typeof (v as ObjectRef).noun === 'string';
}

function isWithheld(v: unknown): v is Withheld {
  return typeof v === 'object' && v !== null && typeof (v as Withheld).full === 'string' && typeof (v as Withheld).instead === 'string';
}

function isRefList(v: unknown): v is RefList {
  return typeof v === 'object' && v !== null && Array.isArray((v as RefList).refs);
}

function visible(r: ObjectRef, a: Audience): boolean {
  return a.full || r.tenant === undefined || a.tenants.includes(r.tenant);
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? 'an' : 'a';
}

function renderList(l: RefList, a: Audience): string {
  const shown = l.refs.filter((r) => visible(r, a)).map((r) => r.full);
  // Hidden ones (and those cut from the list) are counted per tenant: how many another tenant holds is all the reader learns.
  const hidden = new Map<string, { count: number; noun: string }>();
  for (const r of l.refs) {
    if (visible(r, a)) continue;
    const h = hidden.get(r.tenant!) ?? { count: 0, noun: r.noun };
    h.count++;
    hidden.set(r.tenant!, h);
  }
  for (const [tenant, h] of hidden) shown.push(h.count === 1 ? `${article(h.noun)} ${h.noun} of tenant ${tenant}` : `${h.count} ${l.plural} of tenant ${tenant}`);
  const more = l.more > 0 ? `${l.separator}and ${l.more} more` : '';
  return shown.join(l.separator) + more;
}

/** The message as `audience` may read it. */
export function render(text: string | MessageText, audience: Audience): string {
  if (typeof text === 'string') return text;
  let out = '';
  for (const p of text.parts) {
    if (typeof p === 'string') out += p;
    else if ('refs' in p) out += renderList(p, audience);
    else if ('instead' in p) out += audience.full ? p.full : p.instead;
    else out += visible(p, audience) ? p.full : `${article(p.noun)} ${p.noun} of tenant ${p.tenant}`;
  }
  return out;
}
