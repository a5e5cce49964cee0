// One elector for every leader-only controller: leading starts them all,
// losing the Lease stops them all, and the leader work is awaited before the
// step-down completes (so the Lease is released only after its last write).
import { KubeConfig } from '@kubernetes/client-node';
import t from 'tap';
import { Registry } from 'prom-client';
import { LeaderElector } from '../../../src/controllers/leader-election.js';
import { capturingLogger } from '../server/reviews.js';

function elector() {
  const kc = new KubeConfig();
  // Never dialled: the test drives leadership directly.
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const e = new LeaderElector({ kubeConfig: kc, namespace: 'tenant-guard', name: 'tg-controllers', identity: 'replica-0', logger: capturingLogger().logger, registry: new Registry() });
  const drive = e as unknown as { becomeLeader(): void; stepDown(why: string): Promise<void> };
  return { e, lead: () => drive.becomeLeader(), lose: (why = 'the Lease is held by replica-1') => drive.stepDown(why) };
}

t.test('leading starts every controller; losing stops all and awaits the leader work', async (t) => {
  const { e, lead, lose } = elector();
  const events: string[] = [];
  // Certificates and PolicyReports follow Leadership.onChange.
  e.onChange((leader) => events.push(`certs:${leader}`));
  e.onChange((leader) => events.push(`reports:${leader}`));
  // The baseline runs as leader work with a signal.
  let signal: AbortSignal | undefined;
  let finish: () => void = () => undefined;
  e.addWork({
    start: (s) => {
      signal = s;
      events.push('baseline:start');
    },
    stopped: () =>
      new Promise<void>((resolve) => {
        finish = () => {
          events.push('baseline:stopped');
          resolve();
        };
      }),
  });

  t.notOk(e.isLeader());
  lead();
  t.ok(e.isLeader());
  t.same(events, ['baseline:start', 'certs:true', 'reports:true'], 'all three start under the one Lease');
  t.equal(signal?.aborted, false);

  let lost = false;
  const losing = lose().then(() => (lost = true));
  await new Promise((r) => setImmediate(r));
  t.equal(signal?.aborted, true, 'the baseline is told to stop');
  t.same(events.slice(3), ['certs:false', 'reports:false'], 'certificates and reports stop with it');
  t.notOk(lost, 'the step-down waits for the baseline reconciler to end');
  finish();
  await losing;
  t.ok(lost);
  t.notOk(e.isLeader());
  t.same(events.slice(5), ['baseline:stopped']);
});

t.test('work added while leading starts at once; removed work is not restarted', async (t) => {
  const { e, lead, lose } = elector();
  lead();
  const started: string[] = [];
  const remove = e.addWork({ start: () => started.push('late'), stopped: async () => undefined });
  t.same(started, ['late']);
  await lose();
  remove();
  lead();
  t.same(started, ['late'], 'not started again after removal');
  await lose();
});
