// A container that may become UID/GID 1337 at run time leaves the sidecar's
// capture: istio-iptables returns traffic of the proxy's UID and GID
// unredirected (`-m owner --uid-owner 1337 -j RETURN`, same for --gid-owner).
// TG-WORKLOAD-PROXY-UID stops a pod that *starts* as 1337; this stops one
// that gets there later:
// - a root process holding CAP_SETUID/CAP_SETGID calls setuid(1337) — stopped
//   by running as non-root, or by dropping SETUID and SETGID;
// - any process exec()s a set-user-ID binary owned by 1337 (or by root, which
//   regains the capabilities) from its own image — stopped only by
//   allowPrivilegeEscalation: false (no_new_privs makes exec ignore the
//   set-user-ID bit).
// So every container (ephemeral ones included) must have
// allowPrivilegeEscalation: false and either runAsNonRoot / a non-zero
// runAsUser (container over pod) or SETUID and SETGID (or ALL) dropped.
// https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
// https://man7.org/linux/man-pages/man2/setuid.2.html (EPERM without CAP_SETUID)
// https://docs.kernel.org/userspace-api/no_new_privs.html
//
// config.rootContainers: `deny` refuses such containers; `drop` (default)
// adds the missing settings by a patch in tenant namespaces, so manifests
// without a securityContext (the reference setup's Knative Services) stay
// admissible and run safe. Where no patch is possible (an UPDATE of a Pod,
// whose containers are immutable), the missing settings are refused.

import { containerLabel } from './container-names.js';
import { PATCHED_MARK } from './decision.js';
import type { RuleContext } from './context.js';
import type { DecisionBuilder } from './decision.js';
import type { PatchOp } from './types.js';
import { WORKLOAD_RULE, type Finding } from './workload-findings.js';

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
const DROP = ['SETUID', 'SETGID'];

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function capName(c: unknown): string {
  return String(c).toUpperCase().replace(/^CAP_/, '');
}

export interface SetuidGap {
  /** Where the pod spec is; the container is `<spec>.<list>[<index>]`. */
  specSegments: string[];
  list: string;
  index: number;
  name: string;
  container: Record<string, unknown>;
  escalation: boolean;
  identity: boolean;
}

// Paths are built when reported or patched, not for every container judged.

/** Field path of the container, e.g. spec.template.spec.containers[0]. */
function gapPath(g: SetuidGap): string {
  return `${g.specSegments.join('.')}.${g.list}[${g.index}]`;
}

/** JSON pointer of the container (its segments are field names and an index: nothing to escape). */
function gapPointer(g: SetuidGap): string {
  let p = '';
  for (const s of g.specSegments) p += '/' + s;
  return `${p}/${g.list}/${g.index}`;
}

/** `skip` for callers that judge every container. */
export const NOTHING_SKIPPED = (): boolean => false;

/** SETUID and SETGID (or ALL) in a capabilities.drop list. */
function dropsSetuid(drop: unknown): boolean {
  if (!Array.isArray(drop)) return false;
  const drops = new Set(drop.map(capName));
  return drops.has('ALL') || DROP.every((d) => drops.has(d));
}

/**
 * Containers of the pod spec at `specSegments` that could reach UID/GID 1337.
 * `skip`: names not to judge (Istio's injected containers, containers that
 * already existed before an UPDATE).
 */
export function setuidGaps(obj: unknown, specSegments: string[], skip: (list: string, name: string) => boolean): SetuidGap[] {
  let spec: unknown = obj;
  for (const s of specSegments) spec = record(spec)?.[s];
  const podSpec = record(spec);
  const podSc = record(podSpec?.securityContext);
  const out: SetuidGap[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = podSpec?.[list];
    if (!Array.isArray(containers)) continue;
    // A plain loop (no closure per list); a hole reads as undefined and is skipped like forEach skips it.
    for (let i = 0; i < containers.length; i++) {
      const container = record(containers[i]);
      if (!container) continue;
      const name = typeof container.name === 'string' ? container.name : '';
      if (skip(list, name)) continue;
      const sc = record(container.securityContext);
      const nonRoot = (sc?.runAsNonRoot ?? podSc?.runAsNonRoot) === true;
      const uid = sc?.runAsUser ?? podSc?.runAsUser;
      // The drop list is read even when runAsNonRoot or runAsUser already settle it: an entry that cannot be read
      // (e.g. an object without a usable toString) must fail the review closed, whatever else the container says.
      const drops = dropsSetuid(record(sc?.capabilities)?.drop);
      const identity = nonRoot || (typeof uid === 'number' && uid !== 0) || drops;
      const escalation = sc?.allowPrivilegeEscalation === false;
      if (identity && escalation) continue;
      out.push({ specSegments, list, index: i, name, container, escalation, identity });
    }
  }
  return out;
}

export function setuidFindings(gaps: SetuidGap[]): Finding[] {
  return gaps.map((g) => {
    const missing = [
      ...(g.escalation ? [] : ['allowPrivilegeEscalation: false']),
      ...(g.identity ? [] : ['runAsNonRoot: true (or capabilities.drop: [SETUID, SETGID])']),
    ];
    return {
      rule: WORKLOAD_RULE.setuid,
      path: `${gapPath(g)}.securityContext`,
      message:
        `${containerLabel(g.name, g.list, g.index)} can become Istio's proxy UID/GID 1337 at run time (${g.identity ? 'by executing a set-user-ID binary of its image' : 'as root with CAP_SETUID/CAP_SETGID, or through a set-user-ID binary'}); ` +
        `istio-iptables does not capture traffic of UID/GID 1337, so its connections would leave without the sidecar, in plaintext and past the tenant's policies. ` +
        `Set ${missing.join(' and ')} in its securityContext.`,
    };
  });
}

/**
 * The warning that comes with the patch: an entrypoint that switches user
 * (nginx's master/worker, gosu, su-exec, setpriv) needs SETUID/SETGID as root,
 * and a set-user-ID binary (sudo, ping on old images) needs privilege
 * escalation; both now fail at run time with "operation not permitted".
 */
export function patchWarning(g: SetuidGap): string {
  const who = containerLabel(g.name, g.list, g.index);
  const what = g.identity
    ? 'tenant-guard set allowPrivilegeEscalation: false (set-user-ID binaries such as sudo or su no longer gain privileges)'
    : `it runs as root, so tenant-guard dropped SETUID and SETGID and set allowPrivilegeEscalation: false: an entrypoint that switches user (nginx's master/worker, gosu, su-exec) now fails with "operation not permitted"`;
  return (
    `${WORKLOAD_RULE.setuid} at ${gapPath(g)}.securityContext${PATCHED_MARK}${who}: ${what}. ` +
    `To keep the image working, run it as non-root (runAsNonRoot: true and a non-root variant of the image, e.g. nginxinc/nginx-unprivileged for nginx; docs/workload-rules.md lists common ones); ` +
    `if it cannot run without those capabilities, ask a platform admin for an exception.`
  );
}

/** JSON Patch operations adding what each container lacks. */
export function setuidPatch(gaps: SetuidGap[]): PatchOp[] {
  const ops: PatchOp[] = [];
  for (const g of gaps) {
    const sc = record(g.container.securityContext);
    const base = `${gapPointer(g)}/securityContext`;
    if (!sc) {
      const value = g.identity ? { allowPrivilegeEscalation: false } : { allowPrivilegeEscalation: false, capabilities: { drop: [...DROP] } };
      ops.push({ op: 'add', path: base, value });
      continue;
    }
    if (!g.escalation) ops.push({ op: 'add', path: `${base}/allowPrivilegeEscalation`, value: false });
    if (g.identity) continue;
    const caps = record(sc.capabilities);
    if (!caps) ops.push({ op: 'add', path: `${base}/capabilities`, value: { drop: [...DROP] } });
    else if (!Array.isArray(caps.drop)) ops.push({ op: 'add', path: `${base}/capabilities/drop`, value: [...DROP] });
    else {
      const have = new Set((caps.drop as unknown[]).map(capName));
      for (const d of DROP) if (!have.has(d)) ops.push({ op: 'add', path: `${base}/capabilities/drop/-`, value: d });
    }
  }
  return ops;
}

/**
 * Judge (or, with rootContainers: drop and `canPatch`, fix) the containers
 * of the pod at `specSegments`. Returns the findings to report; patch
 * operations go straight to `b`.
 */
export function guardSetuid(ctx: RuleContext, b: DecisionBuilder, obj: unknown, specSegments: string[], opts: { enforce: boolean; canPatch: boolean; skip: (list: string, name: string) => boolean }): Finding[] {
  // Platform controllers write what an admitted object asked for, and that
  // object was hardened (or refused) on its way in; pods of workloads older
  // than tenant-guard are reported by `audit`, not warned about on every write.
  if (ctx.actor.role === 'platform-controller') return [];
  const gaps = setuidGaps(obj, specSegments, opts.skip);
  if (gaps.length === 0) return [];
  if (opts.enforce && opts.canPatch && ctx.config.rootContainers !== 'deny') {
    b.add(...setuidPatch(gaps));
    // The patch changes what the container may do at run time: say so, naming it and the way out.
    for (const g of gaps) b.warnPatched(patchWarning(g));
    return [];
  }
  return setuidFindings(gaps);
}
