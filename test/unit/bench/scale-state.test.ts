// The scale benchmark's generator (test/bench/scale/state.ts): the shape the
// issue describes at every size, and states the engine itself accepts, with
// no cross-tenant path open, so the benchmark times realistic reviews and its
// four reviews get the answers it expects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { actingTenant, decisions } from '../../bench/scale/decisions.js';
import { adminOf, allObjects, generateScaleState, TENANT_LABEL, writeScaleState, type Obj } from '../../bench/scale/state.js';
import { checkJson } from '../cli/check-harness.js';

function countBy(objs: Obj[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of objs) out[o.kind] = (out[o.kind] ?? 0) + 1;
  return out;
}

for (const n of [10, 100, 1000]) {
  t.test(`${n} tenants: 5 namespaces per tenant, 22 AuthorizationPolicies per tenant (the activator ALLOW and fence among them) plus the platform's activator and gateway rules`, async (t) => {
    const s = generateScaleState(n);
    const objs = allObjects(s);
    t.same(countBy(objs), {
      Namespace: 5 * n + 2,
      PeerAuthentication: 5 * n + 1,
      AuthorizationPolicy: 22 * n + 2,
      Service: 5 * n,
      Gateway: 1,
    });
    t.equal(s.namespaces.length, 5 * n);
    t.equal(new Set(objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).size, objs.length, 'no two objects share a name');
    const mislabelled = s.namespaces.filter((ns) => ns.metadata.labels?.[TENANT_LABEL] !== /^(tenant-\d+)-ns[1-5]$/.exec(ns.metadata.name)?.[1]).map((ns) => ns.metadata.name);
    t.same(mislabelled, [], 'every tenant namespace labelled with its tenant');
    t.equal((s.config.tenants as unknown[]).length, n);
  });
}

t.test('the generator refuses a size without a second tenant', async (t) => {
  t.throws(() => generateScaleState(1), /at least 2 tenants/);
});

t.test('every generated document is admitted by a platform admin, without warnings (but the announced SETUID/SETGID patch), namespaces first', async (t) => {
  // 3 tenants: every object is judged in turn (each policy against the state so far), which the current model does in O(tenants) per policy.
  const dir = mkdtempSync(join(tmpdir(), 'tg-scale-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = generateScaleState(3);
  const { stateDir, configFile } = writeScaleState(s, dir);
  const { code, report } = await checkJson(['-f', stateDir, '--config', configFile]);
  t.equal(report.results.length, allObjects(s).length, 'every document read back from the YAML');
  // The generated Knative Services run as root: the rootContainers: drop patch hardens them and says so (issue 21).
  const unexpected = (r: (typeof report.results)[number]) => r.warnings.filter((w) => !(w.rule === 'TG-WORKLOAD-SETUID' && w.message.startsWith('(patched)')));
  const bad = report.results.filter((r) => !r.allowed || unexpected(r).length > 0);
  t.same(
    bad.map((r) => `${r.kind} ${r.namespace}/${r.name}: ${[...r.violations.map((v) => v.rule), ...unexpected(r).map((w) => `${w.rule}: ${w.message}`)].join('; ')}`),
    [],
  );
  t.equal(code, 0);
});

t.test('10 tenants: the matrix has no open cross-tenant cell, and the benchmark reviews get the answers it expects', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-scale-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = generateScaleState(10);
  const { stateDir, configFile } = writeScaleState(s, dir);
  const me = actingTenant(10);
  const admin = ['--as', adminOf(me).user, '--as-group', adminOf(me).group];

  for (const d of decisions(10)) {
    const file = join(dir, `${d.key}.yaml`);
    writeFileSync(file, stringify(d.object));
    const run = await checkJson(['-f', file, '--state', stateDir, '--config', configFile, ...admin, ...(d.key === 'ap-benign' ? ['--matrix'] : [])]);
    const r = run.report.results[0]!;
    t.equal(r.allowed ? 'allowed' : 'denied', d.expect, `${d.name}: ${r.violations.map((v) => v.message).join('; ')}`);
    if (d.key === 'ap-cross-tenant') {
      t.ok(r.violations.some((v) => v.rule === 'TG-AUTHZ-OPENS-PATH'), 'refused for the path it opens');
      t.ok(r.violations.some((v) => v.message.includes(`tenant-${me + 1}`)), 'naming the other tenant');
    }
    if (d.key === 'ns-create') t.ok(r.patch.some((p) => p.op !== 'remove' && p.path === '/metadata/labels/tenant-guard.dev~1tenant' && p.value === `tenant-${me}`), 'labelled for the tenant');
    if (d.key === 'ap-benign') {
      const m = run.report.matrix!;
      t.equal(m.tenants.length, 10);
      t.equal(m.cells.length, (10 + 1) * 10 * m.paths.length, 'ten tenants and the "(other)" row into ten tenants');
      const open = m.cells.filter((c) => c.allowed && c.from !== c.to);
      t.same(open.map((c) => `${c.from} -> ${c.to} via ${c.path}`), [], 'no cross-tenant cell open');
      t.equal(m.cells.filter((c) => c.allowed).length, 10 * m.paths.length, 'each tenant reaches itself on every path');
    }
  }
});
