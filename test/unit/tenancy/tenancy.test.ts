import t from 'tap';
import { MemoryStore } from '../../../src/cluster/memory-store.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { Tenancy } from '../../../src/tenancy/tenancy.js';

const config = parseTenancyConfig(
  {
    apiVersion: 'tenant-guard.dev/v1alpha1',
    kind: 'TenancyConfig',
    platformAdmins: { users: ['root'], groups: ['system:masters'] },
    tenants: [
      { name: 'tenant-1', admins: { users: ['alice'], groups: ['t1-admins'] }, namespaces: ['tenant-1'], revision: 'rev-1' },
      { name: 'tenant-2', admins: { groups: ['t2-admins', 'shared-admins'] } },
      { name: 'tenant-3', admins: { groups: ['shared-admins'] } },
    ],
  },
  'test',
);

const state = new MemoryStore();
state.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tenant-2', labels: { 'tenant-guard.dev/tenant': 'tenant-2' } } });
state.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-x', labels: { 'tenant-guard.dev/tenant': 'tenant-2' } } });
state.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'loose', labels: {} } });
const tenancy = new Tenancy(config, state);

t.test('namespace owners', async (t) => {
  t.same(tenancy.ownerOf('tenant-1'), { type: 'tenant', tenant: 'tenant-1' });
  t.same(tenancy.ownerOf('team-x'), { type: 'tenant', tenant: 'tenant-2' });
  t.same(tenancy.ownerOf('knative-serving'), { type: 'system' });
  t.same(tenancy.ownerOf('istio-system'), { type: 'system' });
  t.same(tenancy.ownerOf('loose'), { type: 'none' });
  t.same(tenancy.ownerOf(undefined), { type: 'none' });
  t.same(tenancy.namespacesOf('tenant-2'), ['team-x', 'tenant-2']);
  t.same([...tenancy.allTenantNamespaces().entries()].sort(), [
    ['team-x', 'tenant-2'],
    ['tenant-1', 'tenant-1'],
    ['tenant-2', 'tenant-2'],
  ]);
});

t.test('actors', async (t) => {
  t.same(tenancy.actor({ username: 'root', groups: [] }).role, 'platform-admin');
  t.same(tenancy.actor({ username: 'x', groups: ['system:masters'] }).role, 'platform-admin');
  t.same(tenancy.actor({ username: 'system:serviceaccount:knative-serving:controller', groups: ['system:serviceaccounts:knative-serving'] }).role, 'platform-controller');
  t.same(tenancy.actor({ username: 'alice', groups: [] }), { role: 'tenant', username: 'alice', tenants: ['tenant-1'], admin: true });
  t.same(tenancy.actor({ username: 'carol', groups: ['shared-admins'] }), { role: 'tenant', username: 'carol', tenants: ['tenant-2', 'tenant-3'], admin: true });
  t.same(tenancy.actor({ username: 'system:serviceaccount:team-x:deployer', groups: [] }), {
    role: 'tenant',
    username: 'system:serviceaccount:team-x:deployer',
    tenants: ['tenant-2'],
    admin: false,
  });
  t.same(tenancy.actor({ username: 'mallory', groups: ['system:authenticated'] }).role, 'other');
});

t.test('revisions', async (t) => {
  t.equal(tenancy.revisionOf('tenant-1'), 'rev-1');
  t.equal(tenancy.revisionOf('tenant-2'), undefined);
  t.equal(tenancy.tenantOfRevision('rev-1'), 'tenant-1');
  t.equal(tenancy.tenantOfRevision('default'), undefined);
});
