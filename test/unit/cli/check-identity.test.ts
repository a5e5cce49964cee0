import t from 'tap';
import { DEFAULT_IDENTITY, impersonate } from '../../../src/cli/check-identity.js';

t.test('no --as: the kubeadm admin, a platform admin', async (t) => {
  t.same(impersonate(undefined, []), { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
  t.not(impersonate(undefined, []), DEFAULT_IDENTITY, 'a copy, callers cannot mutate the default');
});

t.test('--as adds system:authenticated to the given groups, once', async (t) => {
  t.same(impersonate('alice', ['tenant-1-admins', 'tenant-1-admins']), { username: 'alice', groups: ['tenant-1-admins', 'system:authenticated'] });
  t.same(impersonate('alice', ['system:authenticated']).groups, ['system:authenticated']);
  t.same(impersonate('eve', ['system:unauthenticated']).groups, ['system:unauthenticated'], 'explicitly unauthenticated stays so');
  t.same(impersonate('system:anonymous', []).groups, [], 'anonymous is not authenticated');
});

t.test('a service account impersonated without groups gets its service account groups', async (t) => {
  t.same(impersonate('system:serviceaccount:knative-serving:controller', []).groups, [
    'system:serviceaccounts',
    'system:serviceaccounts:knative-serving',
    'system:authenticated',
  ]);
  t.same(impersonate('system:serviceaccount:tenant-1:default', ['x']).groups, ['x', 'system:authenticated'], 'explicit groups replace them');
});

t.test('usage errors', async (t) => {
  t.throws(() => impersonate(undefined, ['g']), { code: 'TG_ERR_USAGE', message: /--as-group needs --as/ });
  t.throws(() => impersonate(' ', []), { code: 'TG_ERR_USAGE' });
});
