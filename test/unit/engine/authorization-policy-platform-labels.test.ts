// The activator carries labels beyond those of Knative's release manifest
// (app.kubernetes.io/version, pod-template-hash, service.istio.io/canonical-*,
// ...). A selector on such a label may select it, so the model tries the
// label sets it may carry: an ALLOW that could select it must be judged, and a
// DENY that might not select it must not be assumed to protect it.
import t, { type Test } from 'tap';
import type { Decision, KubeObject } from '../../../src/engine/types.js';
import { computeMatrix } from '../../../src/mesh/matrix.js';
import { review } from '../mesh/admit.js';
import { ap, config, unfencedReferenceState as referenceState, referenceState as fencedReferenceState, VARIANTS, type Variant } from '../mesh/reference-state.js';

const VERSION = { 'app.kubernetes.io/version': '1.8.1' };

function activatorPolicy(ns: string, name: string, matchLabels: Record<string, string>, source: string, hostsOf: string, action = 'ALLOW'): KubeObject {
  return ap(ns, name, {
    action,
    selector: { matchLabels },
    // The routing header pinned to the hosts' namespace, as the activator routes by it.
    rules: [
      {
        from: [{ source: { namespaces: [source] } }],
        to: [{ operation: { hosts: [`*.${hostsOf}.svc.cluster.local`] } }],
        when: [{ key: 'request.headers[knative-serving-namespace]', values: [hostsOf] }],
      },
    ],
  });
}

function rejectedOnActivator(t: Test, d: Decision) {
  t.notOk(d.allowed, 'rejected');
  // A root-namespace policy also opens the tenant pods directly; the activator path must be among the findings.
  const v = d.violations.find(
    (x) => ['TG-AUTHZ-OPENS-PATH', 'TG-AUTHZ-FOREIGN-SOURCE'].includes(x.rule) && /tenant-2 -> tenant-1 via (activator|gateway-activator|the activator)/.test(x.message),
  );
  t.ok(v, `an activator finding among: ${JSON.stringify(d.violations)}`);
}

function activatorCell(s: ReturnType<typeof referenceState>, path = 'activator') {
  return computeMatrix(s, config()).cells.find((c) => c.from === 'tenant-2' && c.to === 'tenant-1' && c.path === path)!;
}

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  t.test(`${variant}: an ALLOW selecting the activator by a label outside its manifest`, async (t) => {
    for (const ns of ['knative-serving', 'istio-system']) {
      const open = activatorPolicy(ns, 'by-version', VERSION, 'tenant-2', 'tenant-1');
      const d = review(referenceState(variant), open);
      rejectedOnActivator(t, d);
      t.ok(
        d.violations.some((v) => v.rule === 'TG-AUTHZ-OPENS-PATH' && /via activator: .*hosts\[0\] = "\*\.tenant-1\.svc\.cluster\.local".*app\.kubernetes\.io\/version/.test(v.message)),
        `${ns}: the opening names the rule and the assumed label: ${JSON.stringify(d.violations)}`,
      );
    }
    // Behind tenant-1's fence the same rule opens nothing: the fence denies tenant-2 naming tenant-1.
    const fenced = review(fencedReferenceState(variant), activatorPolicy('knative-serving', 'by-version', VERSION, 'tenant-2', 'tenant-1'));
    t.notOk(fenced.violations.some((v) => v.rule === 'TG-AUTHZ-OPENS-PATH' && /via activator/.test(v.message)), `fenced: no open activator path: ${JSON.stringify(fenced.violations)}`);
    // Admitting a tenant to its own hosts by that label stays admitted.
    const own = activatorPolicy('knative-serving', 'by-version', VERSION, 'tenant-1', 'tenant-1');
    const d = review(referenceState(variant), own);
    t.ok(d.allowed, JSON.stringify(d.violations));
  });
}

t.test('a selector a known activator label rules out does not apply to it', async (t) => {
  // app: autoscaler cannot select a pod labelled app: activator (the openshift
  // reference's allow-traffic-to-autoscaler has this shape).
  const d = review(referenceState('openshift'), activatorPolicy('knative-serving', 'autoscaler', { app: 'autoscaler' }, 'tenant-2', 'tenant-1'));
  t.ok(d.allowed, JSON.stringify(d.violations));
  t.notOk(activatorCell(referenceState('openshift', [activatorPolicy('knative-serving', 'autoscaler', { app: 'autoscaler' }, 'tenant-2', 'tenant-1')])).allowed);
  // A known key with the same value plus an unknown one may select it.
  const mixed = review(referenceState('kind'), activatorPolicy('knative-serving', 'mixed', { app: 'activator', ...VERSION }, 'tenant-2', 'tenant-1'));
  rejectedOnActivator(t, mixed);
});

t.test('a DENY on a label outside the manifest does not close an open activator cell', async (t) => {
  // An opening already in the state (written before the guard ran).
  const open = activatorPolicy('knative-serving', 'open', { app: 'activator' }, 'tenant-2', 'tenant-1');
  t.ok(activatorCell(referenceState('kind', [open])).allowed, 'the cell is open');
  const denyByVersion = activatorPolicy('knative-serving', 'deny-2', VERSION, 'tenant-2', 'tenant-1', 'DENY');
  const c = activatorCell(referenceState('kind', [open, denyByVersion]));
  t.ok(c.allowed, 'an activator without that label is still open');
  t.notMatch(c.reason, /if it also carries/, 'found on the manifest labels alone');
  // A DENY on a label the activator is known to carry does close it.
  const denyByApp = activatorPolicy('knative-serving', 'deny-2', { app: 'activator' }, 'tenant-2', 'tenant-1', 'DENY');
  t.notOk(activatorCell(referenceState('kind', [open, denyByApp])).allowed);
});

t.test('one label set per activator decides ALLOW and DENY together', async (t) => {
  const allowX = activatorPolicy('knative-serving', 'allow-x', { x: '1' }, 'tenant-2', 'tenant-1');
  // The DENY on the same label: whichever labels the activator has, the ALLOW never applies without the DENY.
  t.notOk(activatorCell(referenceState('kind', [allowX, activatorPolicy('knative-serving', 'deny-x', { x: '1' }, 'tenant-2', 'tenant-1', 'DENY')])).allowed);
  // The DENY on another label: an activator with x=1 and without y=1 lets tenant-2 in.
  const c = activatorCell(referenceState('kind', [allowX, activatorPolicy('knative-serving', 'deny-y', { y: '1' }, 'tenant-2', 'tenant-1', 'DENY')]));
  t.ok(c.allowed);
  t.match(c.reason, /activator \(if it also carries \{"x":"1"\}\): knative-serving\/allow-x rules\[0\]/);
  // The gateway-activator path goes through the same activator.
  t.ok(activatorCell(referenceState('kind', [allowX]), 'gateway-activator').allowed);
});
