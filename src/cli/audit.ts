import { resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { isHttpStatus, KubeClient, KubeHttpError } from '../cluster/kube-client.js';
import { GK } from '../cluster/state.js';
import { missingReservedNamespaces } from '../engine/reserved-names.js';
import { loadTenancyConfig } from '../config/load.js';
import { describeError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { computeMatrix, formatMatrixText } from '../mesh/matrix.js';
import { oneOf, parseFlags } from './args.js';
import { judgeSnapshot, snapshotCluster, type ClusterSnapshot } from '../reports/cluster-audit.js';
import { buildPolicyReports } from '../reports/policy-reports.js';
import { terminatingNamespaces, writePolicyReports } from '../reports/write-policy-reports.js';
import { buildReport, reportFails } from '../reports/audit-report.js';
import { formatAuditText } from './audit-text.js';
import { seeHelp } from './config-flag.js';
import { installedConfig } from './installed-config.js';
import { exportState } from './state-export.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';
import { Tenancy } from '../tenancy/tenancy.js';

const HELP = `usage: tenant-guard audit [--kubeconfig FILE] [--context NAME] [--config FILE] [-o text|json|yaml] [--report] [--export-state DIR]

Judge every object of a live cluster that the webhook would judge, as if it
were created now, and print the tenant-to-tenant reachability matrix. For
clusters that predate the webhook, or to re-check after a config change.

Objects in a tenant's namespace are submitted as that tenant's admin; Namespaces,
the platform's namespaces and unowned namespaces as a platform admin (see docs/audit.md).
Pods and workloads are read from tenant namespaces only (where the webhook judges them).

flags:
      --kubeconfig FILE  kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
      --context NAME     kubeconfig context (default: the current context)
      --config FILE      tenancy config: a TenancyConfig, the chart's rendered
                         ConfigMap, or a Helm values file (default: the
                         ConfigMap of the tenant-guard installed in the
                         cluster, labelled app.kubernetes.io/part-of=tenant-guard)
  -o, --output FORMAT    text (default), json or yaml
      --export-state DIR also write what was read, one YAML file per kind, to
                         DIR (empty or absent): the state 'check --state DIR'
                         judges manifests against, offline, in CI
      --report           also write the result as wgpolicyk8s.io/v1alpha2
                         PolicyReports (one per namespace) and a
                         ClusterPolicyReport named tenant-guard (docs/audit.md)
  -h, --help             this help

exit status: 0 nothing violates, 1 an object violates a rule or a cross-tenant
path is open without a peering, 2 usage, config or cluster error
`;

const FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  config: { type: 'string' },
  output: { type: 'string', short: 'o' },
  report: { type: 'boolean' },
  'export-state': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function loadKubeConfig(file: string | undefined, context: string | undefined, io: CliIO): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file !== undefined) kc.loadFromFile(resolve(io.cwd, file));
    else {
      kc.loadFromDefault();
      // client-node falls back to http://localhost:8080 when it finds nothing
      // (no KUBECONFIG, no ~/.kube/config, not in a pod): say that instead.
      if (kc.getCurrentCluster()?.server === 'http://localhost:8080' && kc.getCurrentContext() === 'loaded-context')
        throw new Error('no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account');
    }
    if (context !== undefined) {
      if (!kc.getContextObject(context)) throw new Error(`no context "${context}" in the kubeconfig`);
      kc.setCurrentContext(context);
    }
    if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CLUSTER', `cannot load the kubeconfig${file ? ` ${file}` : ''}: ${describeError(e)}`, { cause: e });
  }
  return kc;
}

function clusterError(client: KubeClient, e: unknown): TenantGuardError {
  if (isTenantGuardError(e)) return e;
  let hint = '';
  if (e instanceof KubeHttpError && (e.status === 401 || e.status === 403)) {
    hint = ' (audit needs get/list on namespaces, pods, apps and batch workloads in tenant namespaces, and on every Istio and Knative kind: see docs/audit.md)';
  }
  return new TenantGuardError('TG_ERR_CLUSTER', `cannot read the cluster at ${client.server}: ${describeError(e)}${hint}`, { cause: e });
}

/** `tenant-guard audit`: see HELP and docs/audit.md. */
export async function runAudit(argv: string[], io: CliIO): Promise<number> {
  try {
    const flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      io.stdout.write(HELP);
      return EXIT_OK;
    }
    const output = oneOf('-o', flags.output ?? 'text', ['text', 'json', 'yaml'] as const);
    const client = new KubeClient(loadKubeConfig(flags.kubeconfig, flags.context, io));
    let config;
    if (flags.config !== undefined) config = loadTenancyConfig(resolve(io.cwd, flags.config));
    else {
      // No silent demo default: the installed tenant-guard's own config, or an error asking for --config.
      let found;
      try {
        found = await installedConfig(client, 'audit');
      } catch (e) {
        throw clusterError(client, e);
      }
      io.stderr.write(`using the tenancy config of ${found.source}\n`);
      config = found.config;
    }

    let snap: ClusterSnapshot;
    try {
      snap = await snapshotCluster(client, config);
    } catch (e) {
      throw clusterError(client, e);
    }
    if (flags['export-state'] !== undefined) {
      const dir = resolve(io.cwd, flags['export-state']);
      const n = exportState(snap.store, snap.kinds, dir);
      io.stderr.write(`exported ${n.objects} objects (${n.files} kinds) to ${dir}: use it as 'tenant-guard check --state ${flags['export-state']}'\n`);
    }
    const results = judgeSnapshot(snap, config);
    let matrixText: string;
    let report;
    try {
      const matrix = computeMatrix(snap.store, config);
      const missing = missingReservedNamespaces(config, (ns) => snap.store.get(GK.Namespace, undefined, ns) !== undefined);
      report = buildReport(results, matrix, snap.notServed, missing);
      matrixText = formatMatrixText(matrix);
    } catch (e) {
      throw new TenantGuardError('TG_ERR_ENGINE', `cannot compute the reachability matrix: ${describeError(e)}`, { cause: e });
    }
    io.stdout.write(output === 'json' ? JSON.stringify(report, null, 2) + '\n' : output === 'yaml' ? stringify(report, { lineWidth: 0 }) : formatAuditText(report, matrixText));
    if (flags.report) {
      // A namespace's PolicyReport is its tenant's to read: rendered for that tenant (src/reports/policy-reports.ts).
      const tenancy = new Tenancy(config, snap.store);
      try {
        const w = await writePolicyReports(client, buildPolicyReports(results, report.openPaths, new Date(), { tenantOf: (ns) => tenancy.tenantOf(ns) }), { terminating: terminatingNamespaces(snap.store) });
        const namespaced = w.written - (w.clusterWritten ? 1 : 0);
        io.stderr.write(
          `wrote ${namespaced} PolicyReport${namespaced === 1 ? '' : 's'}${w.clusterWritten ? ' and the ClusterPolicyReport tenant-guard' : ''}${w.deleted ? `; deleted ${w.deleted} stale` : ''}` +
            `${w.skipped.length ? `; skipped ${w.skipped.length} terminating namespace${w.skipped.length === 1 ? '' : 's'} (${w.skipped.join(', ')})` : ''}\n`,
        );
        if (w.failures.length > 0) {
          const first = w.failures[0]!;
          throw new KubeHttpError(first.status ?? 0, undefined, w.failures.map((f) => `${f.action} ${f.report}: ${f.error}`).join('; '));
        }
      } catch (e) {
        const hint = isHttpStatus(e, 404) ? ' (are the wgpolicyk8s.io v1alpha2 PolicyReport CRDs installed?)' : isHttpStatus(e, 403) ? ' (--report needs create/update/list/delete on policyreports and clusterpolicyreports)' : '';
        throw new TenantGuardError('TG_ERR_CLUSTER', `cannot write PolicyReports to ${client.server}: ${describeError(e)}${hint}`, { cause: e });
      }
    }
    return reportFails(report) ? EXIT_DENIED : EXIT_OK;
  } catch (e) {
    const hint = isTenantGuardError(e) && e.code === 'TG_ERR_USAGE' ? `\n${seeHelp('audit')}` : '';
    io.stderr.write(`${describeError(e)}${hint}\n`);
    return EXIT_USAGE;
  }
}
