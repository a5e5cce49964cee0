// The watcher must watch every kind a decision or the reachability model
// looks up in the cluster state: a kind read but not watched would always
// look empty in a live cluster (while `check --state` would see it), and the
// webhook would decide differently there. Every rule example and the
// reference setup are run through the engine and computeMatrix with a state
// that records which kinds are read.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { WATCHED_KINDS } from '../../../src/cluster/informers.js';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { GK, groupOf, type ClusterState, type GroupKind } from '../../../src/cluster/state.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { evaluate, ruleCatalog } from '../../../src/engine/index.js';
import type { KubeObject, UserInfo } from '../../../src/engine/types.js';
import { computeMatrix } from '../../../src/mesh/matrix.js';

class RecordingState implements ClusterState {
  readonly read = new Set<GroupKind>();
  constructor(private readonly base: MemoryStore) {}
  get(gk: GroupKind, namespace: string | undefined, name: string) {
    this.read.add(gk);
    return this.base.get(gk, namespace, name);
  }
  list(gk: GroupKind, namespace?: string) {
    this.read.add(gk);
    return this.base.list(gk, namespace);
  }
  namespacesWithLabel(label: string, value: string) {
    this.read.add(GK.Namespace);
    return this.base.namespacesWithLabel(label, value);
  }
  namespacesOf(gk: GroupKind) {
    this.read.add(gk);
    return this.base.namespacesOf(gk);
  }
  derived<T>(key: string, gk: GroupKind, namespace: string, compute: () => T): T {
    this.read.add(gk);
    // Never cached here: every read must go through this recorder.
    return compute();
  }
  derivedAcross<T>(_key: string, gk: GroupKind, compute: () => T): T {
    this.read.add(gk);
    return compute();
  }
}

const docs = (text: string): KubeObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o && typeof o.kind === 'string');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const config = loadDefaultTenancyConfig();
const alice: UserInfo = { username: 'alice', groups: ['tenant-1-admins', 'system:authenticated'] };
const admin: UserInfo = { username: 'root', groups: ['system:masters', 'system:authenticated'] };

function submit(state: ClusterState, obj: KubeObject, user: UserInfo, operation: 'CREATE' | 'UPDATE' | 'DELETE' = 'CREATE'): void {
  const version = obj.apiVersion.slice(obj.apiVersion.indexOf('/') + 1);
  evaluate(
    {
      operation,
      kind: { group: groupOf(obj.apiVersion), version, kind: obj.kind },
      namespace: obj.metadata?.namespace,
      name: obj.metadata?.name,
      object: operation === 'DELETE' ? undefined : obj,
      oldObject: operation === 'CREATE' ? undefined : obj,
      userInfo: user,
      dryRun: false,
    },
    state,
    config,
  );
}

t.test('every kind the engine and the reachability model read is watched', async (t) => {
  const read = new Set<GroupKind>();
  let judged = 0;
  for (const rule of ruleCatalog) {
    if (!rule.example) continue;
    const objs = docs(rule.example);
    const last = objs.pop();
    if (!last) continue;
    const store = new MemoryStore();
    for (const o of objs) store.upsert(o);
    const state = new RecordingState(store);
    const as = rule.exampleAs ?? alice;
    submit(state, last, as, rule.exampleOperation === 'CONNECT' ? 'CREATE' : rule.exampleOperation);
    for (const k of state.read) read.add(k);
    judged++;
  }
  const reference = yamlFiles(join(import.meta.dirname, '..', '..', 'fixtures', 'reference')).flatMap((f) => docs(readFileSync(f, 'utf8')));
  const store = new MemoryStore();
  for (const name of ['tenant-1', 'tenant-2']) store.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [config.tenantLabel]: name } } });
  for (const o of reference) store.upsert(o);
  const state = new RecordingState(store);
  for (const o of reference) {
    for (const op of ['CREATE', 'UPDATE', 'DELETE'] as const) {
      submit(state, o, alice, op);
      submit(state, o, admin, op);
    }
  }
  computeMatrix(state, config);
  for (const k of state.read) read.add(k);
  t.ok(judged > 10, `${judged} rule examples judged`);
  t.ok(read.has(GK.Namespace) && read.has(GK.AuthorizationPolicy), 'the recording sees the reads');
  const unwatched = [...read].filter((k) => !WATCHED_KINDS.includes(k)).sort();
  t.same(unwatched, [], 'read but not watched (add them to WATCHED_KINDS and to the chart ClusterRole)');
});
