// Drives the engine the way the webhook does: evaluate() with a MemoryStore.
import type { MemoryStore } from '../../../src/cluster/memory-store.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import { evaluate } from '../../../src/engine/index.js';
import type { Decision, KubeObject, Operation, UserInfo } from '../../../src/engine/types.js';
import { config, PLATFORM_ADMIN } from './reference-state.js';

export function review(
  state: MemoryStore,
  obj: KubeObject,
  opts: { operation?: Operation; user?: UserInfo; cfg?: TenancyConfig } = {},
): Decision {
  const operation = opts.operation ?? (state.get('security.istio.io/AuthorizationPolicy', obj.metadata.namespace, obj.metadata.name!) ? 'UPDATE' : 'CREATE');
  const [group, version] = obj.apiVersion.split('/') as [string, string];
  const old = state.get('security.istio.io/AuthorizationPolicy', obj.metadata.namespace, obj.metadata.name!);
  return evaluate(
    {
      operation,
      kind: { group, version, kind: obj.kind },
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      object: operation === 'DELETE' ? undefined : obj,
      oldObject: operation === 'CREATE' ? undefined : old ?? obj,
      userInfo: opts.user ?? PLATFORM_ADMIN,
      dryRun: false,
    },
    state,
    opts.cfg ?? config(),
  );
}

/** Review, and apply to the state when admitted (what the API server would do). */
export function apply(state: MemoryStore, obj: KubeObject, opts: Parameters<typeof review>[2] = {}): Decision {
  const d = review(state, obj, opts);
  if (d.allowed) {
    if ((opts.operation ?? '') === 'DELETE') state.remove(obj);
    else state.upsert(obj);
  }
  return d;
}

export function ruleIds(d: Decision): string[] {
  return d.violations.map((v) => v.rule);
}
