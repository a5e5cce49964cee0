// Issue 17, item 4: every namespace the config trusts by name is created,
// relabelled or adopted by platform admins only.
import t from 'tap';
import { parseTenancyConfig } from '../../../src/config/load.js';
import { reservedNamespaces } from '../../../src/engine/reserved-names.js';
import type { KubeObject, UserInfo } from '../../../src/engine/types.js';
import { admin, alice, defaultConfig, judge, mallory, namespaceController, store } from './istio-fixtures.js';

const config = parseTenancyConfig(
  {
    ...structuredClone(defaultConfig),
    platformControllers: {
      users: [...defaultConfig.platformControllers.users, 'system:serviceaccount:argocd:argocd-application-controller'],
      groups: [...defaultConfig.platformControllers.groups, 'system:serviceaccounts:cert-manager'],
    },
    platformAdmins: { users: ['platform-admin', 'system:serviceaccount:ops:breakglass'], groups: ['system:masters'] },
    reservedNamespaces: ['monitoring'],
  },
  'test',
);
const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const aliceAdmin: UserInfo = { username: 'alice', groups: ['tenant-1-admins'] };

t.test('the names the config trusts', async (t) => {
  const names = [...reservedNamespaces(config).keys()].sort();
  t.same(names, ['argocd', 'cert-manager', 'istio-system', 'knative-serving', 'kube-system', 'monitoring', 'ops'].sort());
  t.match(reservedNamespaces(config).get('cert-manager'), /platformControllers \(group system:serviceaccounts:cert-manager\)/);
});

t.test('a tenant admin (or anyone but the platform) may not create one', async (t) => {
  for (const name of ['cert-manager', 'argocd', 'ops', 'monitoring', 'knative-serving', 'istio-system', 'kube-system']) {
    for (const user of [alice, aliceAdmin, mallory]) {
      const d = judge('CREATE', ns(name), user, { config });
      t.equal(d.allowed, false, `${user.username} creating ${name}`);
      t.ok(d.violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'), `${user.username} creating ${name}: TG-NS-RESERVED-NAME`);
    }
    // With the tenant label, too: the name, not the label, carries the trust.
    t.ok(judge('CREATE', ns(name, { 'tenant-guard.dev/tenant': 'tenant-1' }), alice, { config }).violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'), `${name} labelled for the tenant`);
  }
  const d = judge('CREATE', ns('cert-manager'), alice, { config });
  t.match(d.violations.find((v) => v.rule === 'TG-NS-RESERVED-NAME')!.message, /its service accounts are platformControllers.*Only platform admins may create, relabel or adopt it/);
});

t.test('relabelling one: refused; other updates pass', async (t) => {
  const old = ns('cert-manager', { team: 'platform' });
  const s = store(old);
  t.ok(judge('UPDATE', ns('cert-manager', { team: 'platform', 'tenant-guard.dev/tenant': 'tenant-1' }), alice, { config, state: s, oldObject: old }).violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'), 'adopting it by label');
  t.ok(judge('UPDATE', ns('cert-manager', {}), mallory, { config, state: s, oldObject: old }).violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'), 'removing a label');
  const same = { ...ns('cert-manager', { team: 'platform' }), metadata: { name: 'cert-manager', labels: { team: 'platform' }, annotations: { note: 'x' } } };
  t.notOk(judge('UPDATE', same, mallory, { config, state: s, oldObject: old }).violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'), 'an annotation');
});

t.test('platform admins may; platform controllers are warned, never blocked', async (t) => {
  for (const name of ['cert-manager', 'ops', 'monitoring']) t.ok(judge('CREATE', ns(name), admin, { config }).allowed, `admin creates ${name}`);
  const adopted = judge('CREATE', ns('monitoring', { 'tenant-guard.dev/tenant': 'tenant-1' }), admin, { config });
  t.ok(adopted.allowed, 'an admin may adopt it');
  t.match(adopted.warnings.join('\n'), /monitoring.*labelled for tenant tenant-1/);
  const ctl = judge('CREATE', ns('cert-manager'), namespaceController, { config });
  t.ok(ctl.allowed);
  t.match(ctl.warnings.join('\n'), /TG-NS-RESERVED-NAME/);
});

t.test('ordinary names are not reserved', async (t) => {
  t.ok(judge('CREATE', ns('tenant-1-jobs'), aliceAdmin, { config }).allowed);
  t.notOk(judge('CREATE', ns('cert-manager-2'), aliceAdmin, { config }).violations.some((v) => v.rule === 'TG-NS-RESERVED-NAME'));
});
