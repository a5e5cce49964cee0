// Shared builders for the Istio rule tests (not a test file itself).
import { readFileSync } from 'node:fs';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { groupOf } from '../../../src/cluster/state.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { evaluate } from '../../../src/engine/index.js';
import { defaultConfig, revisionConfig, yamlDocs as docs } from './engine-test-config.js';
import type { AdmissionInput, Decision, KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';

export const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
export const bob: UserInfo = { username: 'bob', groups: ['system:authenticated'] };
export const admin: UserInfo = { username: 'platform-admin', groups: ['system:authenticated'] };
export const mallory: UserInfo = { username: 'mallory', groups: ['system:authenticated'] };
/** Knative's net-istio controller runs as the `controller` service account in knative-serving. */
export const netIstio: UserInfo = {
  username: 'system:serviceaccount:knative-serving:controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:knative-serving', 'system:authenticated'],
};
export const namespaceController: UserInfo = {
  username: 'system:serviceaccount:kube-system:namespace-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};




export function readDocs(path: string): KubeObject[] {
  return docs(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8'));
}

export function store(...objects: KubeObject[]): MemoryStore {
  const s = new MemoryStore();
  for (const o of objects) s.upsert(o);
  return s;
}

export function obj(yamlText: string): KubeObject {
  const [o] = docs(yamlText);
  if (!o) throw new Error('no document');
  return o;
}

export function request(operation: Operation, o: KubeObject, user: UserInfo, oldObject?: KubeObject): AdmissionInput {
  const version = o.apiVersion.split('/')[1] ?? o.apiVersion;
  const input: AdmissionInput = {
    operation,
    kind: { group: groupOf(o.apiVersion), version, kind: o.kind },
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    userInfo: user,
    dryRun: false,
  };
  if (operation === 'DELETE') input.oldObject = o;
  else input.object = o;
  if (operation === 'UPDATE') input.oldObject = oldObject ?? o;
  return input;
}

export interface Judge {
  (operation: Operation, o: KubeObject | string, user?: UserInfo, opts?: { state?: MemoryStore; config?: TenancyConfig; oldObject?: KubeObject }): Decision;
}

export const judge: Judge = (operation, o, user = alice, opts = {}) => {
  const object = typeof o === 'string' ? obj(o) : o;
  return evaluate(request(operation, object, user, opts.oldObject), opts.state ?? store(), opts.config ?? defaultConfig);
};

export function ruleIds(d: Decision): string[] {
  return d.violations.map((v) => v.rule);
}

export { defaultConfig, revisionConfig, docs };
