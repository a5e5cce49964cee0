// `check` applies the config's enforcement as the webhook does; `--enforcement deny` judges as if every rule were enforced.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ALICE, check, checkJson, REPO } from './check-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'tg-check-enforcement-'));
const config = join(dir, 'tenancy.yaml');
writeFileSync(
  config,
  readFileSync(join(REPO, 'examples/tenancy.yaml'), 'utf8') +
    `enforcement:
  action: deny
  overrides:
    - rules: [TG-WORKLOAD-CAPTURE-BYPASS]
      namespaces: [tenant-1]
      action: warn
exceptions:
  - name: legacy-agent
    rules: [TG-WORKLOAD-INJECT-OPTOUT]
    namespaces: [tenant-1]
    kinds: [Deployment]
    names: [legacy-agent]
    reason: vendor agent (OPS-123)
    expires: "2099-03-31"
`,
);
const deployment = (name: string, annotations: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: tenant-1}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}, annotations: {${annotations}}}
    spec: {containers: [{name: app, image: x}]}
`;
const manifests = join(dir, 'm.yaml');
writeFileSync(
  manifests,
  [deployment('capture', 'traffic.sidecar.istio.io/excludeOutboundIPRanges: 10.0.0.0/8'), deployment('legacy-agent', 'sidecar.istio.io/inject: "false"'), deployment('twin', 'sidecar.istio.io/inject: "false"')].join('---\n'),
);

t.test('check applies warn and exceptions; --enforcement deny refuses them all', async (t) => {
  const r = await checkJson(['--config', config, ...ALICE, '-f', manifests]);
  t.same(r.report.results.map((x) => x.allowed), [true, true, false]);
  t.same(r.report.results[0]!.relaxed?.map((v) => [v.rule, v.action]), [['TG-WORKLOAD-CAPTURE-BYPASS', 'warn']]);
  t.same(r.report.results[1]!.relaxed?.map((v) => [v.rule, v.action, v.exception]), [['TG-WORKLOAD-INJECT-OPTOUT', 'exception', 'legacy-agent']]);
  t.ok(r.report.results[0]!.patch.length > 0, 'admitted with its mutations');
  t.equal(r.code, 1, 'the twin is still refused');
  const text = await check(['--config', config, ...ALICE, '-f', manifests]);
  t.match(text.stdout, /ALLOWED Deployment tenant-1\/capture \(CREATE\)\n  TG-WORKLOAD-CAPTURE-BYPASS \(warn\)/);
  t.match(text.stdout, /TG-WORKLOAD-INJECT-OPTOUT \(exception legacy-agent\)/);
  const deny = await checkJson(['--config', config, ...ALICE, '-f', manifests, '--enforcement', 'deny']);
  t.same(deny.report.results.map((x) => x.allowed), [false, false, false]);
  t.notOk(deny.report.results[0]!.relaxed);
  const bad = await check(['--config', config, '-f', manifests, '--enforcement', 'off']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--enforcement must be one of config, deny/);
});
