import t from 'tap';
import { parseTenancyConfigText } from '../../../src/config/load.js';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';

t.test('defaults are filled', async (t) => {
  const c = parseTenancyConfigText('apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\n', 'x.yaml');
  t.equal(c.tenantLabel, 'tenant-guard.dev/tenant');
  t.same(c.systemNamespaces, ['knative-serving', 'istio-system']);
  t.equal(c.meshRootNamespace, 'istio-system');
  t.same(c.drainPorts, ['8022']);
  t.same(c.platformAdmins, { users: [], groups: ['system:masters'] });
  t.same(c.tenants, []);
  t.same(c.peerings, []);
});

t.test('wrong field type names file and field', async (t) => {
  t.throws(
    () => parseTenancyConfigText('apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ndrainPorts: 8022\n', 'bad.yaml'),
    { code: 'TG_ERR_CONFIG_INVALID', message: /bad\.yaml: drainPorts: must be array/ },
  );
  t.throws(
    () => parseTenancyConfigText('apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenants: [{name: a, admins: {users: alice}}]\n', 'bad.yaml'),
    { code: 'TG_ERR_CONFIG_INVALID', message: /tenants\.0\.admins\.users: must be array/ },
  );
  t.throws(
    () => parseTenancyConfigText('apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenantz: []\n', 'bad.yaml'),
    { message: /unknown field "tenantz"/ },
  );
});

t.test('semantic errors', async (t) => {
  t.throws(
    () =>
      parseTenancyConfigText(
        'apiVersion: tenant-guard.dev/v1alpha1\nkind: TenancyConfig\ntenants: [{name: a, namespaces: [x]}, {name: b, namespaces: [x]}]\npeerings: [{from: a, to: c}]\n',
        'c.yaml',
      ),
    { message: /"x" already belongs to tenant "a".*peerings\.0\.to: unknown tenant "c"/ },
  );
});

t.test('malformed YAML names the line', async (t) => {
  t.throws(() => parseTenancyConfigText('a: [\n', 'm.yaml'), { code: 'TG_ERR_CONFIG_READ', message: /m\.yaml \(line/ });
});

t.test('embedded default is the reference tenants', async (t) => {
  const c = loadDefaultTenancyConfig();
  t.same(c.tenants.map((x) => x.name), ['tenant-1', 'tenant-2']);
});
