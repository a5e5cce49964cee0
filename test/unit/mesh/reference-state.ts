// Builds the reference setup's cluster state for the mesh and
// AuthorizationPolicy tests: every AuthorizationPolicy and PeerAuthentication
// of one variant, plus the namespaces it runs in. `referenceState` is the
// hardened reference (examples/reference-hardened: the activator rules pin
// knative-serving-namespace), the known-good state; `seedReferenceState` is
// the reference as published (test/fixtures/reference), whose activator rules
// admit tenants by Host only and so let them name each other's revisions.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import type { KubeObject } from '../../../src/engine/types.js';

const ROOT = new URL('../../fixtures/reference/', import.meta.url).pathname;
const HARDENED = new URL('../../../examples/reference-hardened/', import.meta.url).pathname;

export const VARIANTS = { kind: 'kind/config', openshift: 'openshift/securing-config' } as const;
export const HARDENED_VARIANTS = { kind: 'kind', openshift: 'openshift' } as const;
export type Variant = keyof typeof VARIANTS;

export function loadDocs(dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.yaml')) continue;
    for (const d of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const v = d.toJS() as KubeObject | null;
      if (v && typeof v === 'object' && v.kind) out.push(v);
    }
  }
  return out;
}

/** The reference variant's AuthorizationPolicies and PeerAuthentications (hardened unless `seed`). */
export function referencePolicies(variant: Variant, seed = false): KubeObject[] {
  const dir = seed ? join(ROOT, VARIANTS[variant]) : join(HARDENED, HARDENED_VARIANTS[variant]);
  return loadDocs(dir).filter((o) => o.kind === 'AuthorizationPolicy' || o.kind === 'PeerAuthentication');
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function referenceState(variant: Variant, extra: KubeObject[] = [], seed = false): MemoryStore {
  const s = new MemoryStore();
  for (const ns of ['tenant-1', 'tenant-2']) s.upsert(namespace(ns, { 'istio-injection': 'enabled' }));
  for (const ns of ['knative-serving', 'istio-system']) s.upsert(namespace(ns));
  for (const o of [...referencePolicies(variant, seed), ...extra]) s.upsert(o);
  return s;
}

/** The hardened names of the per-tenant fences on the activator (examples/reference-hardened). */
export const FENCES = ['fence-tenant-1-at-activator', 'fence-tenant-2-at-activator'];

/**
 * The hardened reference without its fences: the activator pinned by the
 * tenants' ALLOW rules only, for tests of what a rule on the activator opens
 * where no fence stands behind it (a fence denies every other tenant's
 * request naming the fenced namespace, whatever the ALLOWs say).
 */
export function unfencedReferenceState(variant: Variant, extra: KubeObject[] = []): MemoryStore {
  const s = referenceState(variant);
  for (const name of FENCES) s.remove({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { namespace: 'knative-serving', name } });
  for (const o of extra) s.upsert(o);
  return s;
}

/** The reference as published, activator rules by Host only. */
export function seedReferenceState(variant: Variant, extra: KubeObject[] = []): MemoryStore {
  return referenceState(variant, extra, true);
}

export function config(patch: Partial<TenancyConfig> = {}): TenancyConfig {
  return { ...loadDefaultTenancyConfig(), ...patch };
}

export function ap(namespace: string, name: string, spec: unknown, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: spec as KubeObject['spec'],
  };
}

export function pa(namespace: string, name: string, spec: unknown): KubeObject {
  return { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec: spec as KubeObject['spec'] };
}

export const PLATFORM_ADMIN = { username: 'platform-admin', groups: [] as string[] };
export const ALICE = { username: 'alice', groups: [] as string[] };
