// Shared builders for the namespace, Knative, Pod and workload rule tests (not a test file itself).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fjp from 'fast-json-patch';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { evaluate } from '../../../src/engine/index.js';
import { defaultConfig, revisionConfig, yamlDocs } from './engine-test-config.js';
import type { Decision, KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';

export const TENANT_LABEL = 'tenant-guard.dev/tenant';

export const alice: UserInfo = { username: 'alice', groups: ['tenant-1-admins', 'system:authenticated'] };
export const bob: UserInfo = { username: 'bob', groups: ['tenant-2-admins', 'system:authenticated'] };
/** Admin of both tenants. */
export const carol: UserInfo = { username: 'carol', groups: ['tenant-1-admins', 'tenant-2-admins', 'system:authenticated'] };
export const platformAdmin: UserInfo = { username: 'ops', groups: ['platform-admins', 'system:authenticated'] };
export const mallory: UserInfo = { username: 'mallory', groups: ['system:authenticated'] };
/** A tenant-1 workload's service account (a CI pipeline, an operator). */
export const tenant1Sa: UserInfo = { username: 'system:serviceaccount:tenant-1:deployer', groups: ['system:serviceaccounts', 'system:serviceaccounts:tenant-1'] };
export const knativeController: UserInfo = {
  username: 'system:serviceaccount:knative-serving:controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:knative-serving', 'system:authenticated'],
};
export const replicaSetController: UserInfo = {
  username: 'system:serviceaccount:kube-system:replicaset-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};



export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** The reference cluster: both tenant namespaces as they look once admitted. */
export function referenceState(extra: KubeObject[] = []): MemoryStore {
  const s = new MemoryStore();
  s.upsert(namespace('tenant-1', { [TENANT_LABEL]: 'tenant-1', 'istio-injection': 'enabled' }));
  s.upsert(namespace('tenant-2', { [TENANT_LABEL]: 'tenant-2', 'istio-injection': 'enabled' }));
  for (const o of extra) s.upsert(o);
  return s;
}


export function fixture(relative: string): KubeObject[] {
  return yamlDocs(readFileSync(fileURLToPath(new URL(`../../fixtures/${relative}`, import.meta.url)), 'utf8'));
}

function gvk(obj: KubeObject): { group: string; version: string; kind: string } {
  const slash = obj.apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: obj.apiVersion, kind: obj.kind }
    : { group: obj.apiVersion.slice(0, slash), version: obj.apiVersion.slice(slash + 1), kind: obj.kind };
}

export interface Submitted {
  d: Decision;
  /** The object with the returned patch applied (the object itself when denied or deleted). */
  result: KubeObject;
  rules: string[];
}

export interface SubmitOptions {
  op?: Operation;
  old?: KubeObject;
  state?: MemoryStore;
  config?: TenancyConfig;
}

/** Submit `obj` as `user` and apply the returned JSON Patch the way the API server would. */
export function submit(obj: KubeObject, user: UserInfo, opts: SubmitOptions = {}): Submitted {
  const op = opts.op ?? (opts.old ? 'UPDATE' : 'CREATE');
  const ns = obj.kind === 'Namespace' ? undefined : obj.metadata.namespace;
  const d = evaluate(
    {
      operation: op,
      kind: gvk(obj),
      namespace: ns,
      name: obj.metadata.name,
      object: op === 'DELETE' ? undefined : obj,
      oldObject: op === 'DELETE' ? (opts.old ?? obj) : opts.old,
      userInfo: user,
      dryRun: false,
    },
    opts.state ?? referenceState(),
    opts.config ?? defaultConfig,
  );
  const result = fjp.applyPatch(structuredClone(obj), fjp.deepClone(d.patch), true, false).newDocument as KubeObject;
  return { d, result, rules: d.violations.map((v) => v.rule) };
}

export { defaultConfig, revisionConfig, yamlDocs };

/** What rootContainers: drop adds to a container that has no securityContext (sidecar-setuid-guard.ts). */
export const SETUID_HARDENING = { allowPrivilegeEscalation: false, capabilities: { drop: ['SETUID', 'SETGID'] } };

/** `obj` with SETUID_HARDENING on every container of the pod spec at `spec` that has no securityContext. */
export function hardened<T>(obj: T, spec: string[]): T {
  const out = structuredClone(obj);
  let s: any = out;
  for (const k of spec) s = s?.[k];
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of s?.[list] ?? []) if (c.securityContext === undefined) c.securityContext = structuredClone(SETUID_HARDENING);
  }
  return out;
}
