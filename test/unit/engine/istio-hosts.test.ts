import t from 'tap';
import { hostNamespace, isMeshHost } from '../../../src/engine/istio-hosts.js';

t.test('isMeshHost', async (t) => {
  for (const h of ['*', 'hello', 'hello.ns.svc.cluster.local', 'hello.ns.svc', 'HELLO.NS.SVC.CLUSTER.LOCAL.', '*.ns.svc.cluster.local', '*.svc.cluster.local', '*.cluster.local', '*.local', 'a.b.svc.corp.example', undefined, '']) {
    t.ok(isMeshHost(h), String(h));
  }
  for (const h of ['api.example.com', '*.example.com', 'hello.ns', '*.com', 'svc.example.com']) t.notOk(isMeshHost(h), h);
});

t.test('hostNamespace', async (t) => {
  t.equal(hostNamespace('hello', 'own'), 'own');
  t.equal(hostNamespace('hello.tenant-2', 'own'), 'tenant-2');
  t.equal(hostNamespace('hello.tenant-2.svc', 'own'), 'tenant-2');
  t.equal(hostNamespace('hello.tenant-2.svc.cluster.local', 'own'), 'tenant-2');
  t.equal(hostNamespace('api.example.com', 'own'), undefined);
  t.equal(hostNamespace('*.tenant-2.svc.cluster.local', 'own'), undefined);
});
