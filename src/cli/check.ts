import { resolve } from 'node:path';
import { loadManifests, onceStdin } from '../cluster/manifests.js';
import type { ManifestOperation } from '../cluster/manifest-admission.js';
import { MemoryStore } from '../cluster/memory-store.js';
import { describeError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { computeMatrix, formatMatrixText, openCrossTenantCells, type ReachabilityMatrix } from '../mesh/matrix.js';
import { namespaceFlag, oneOf, parseFlags } from './args.js';
import { impersonate } from './check-identity.js';
import { formatJson, formatText, formatYaml } from './check-output.js';
import { writeCheckReport } from './check-report.js';
import { DEFAULT_RULES_URL } from '../reports/rule-links.js';
import { checkManifests, seedState } from './check-run.js';
import { requiredConfig, seeHelp } from './config-flag.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

const HELP = `usage: tenant-guard check --config FILE -f PATH... [--state PATH...] [--as USER] [--as-group GROUP...]
                          [--operation CREATE|UPDATE|DELETE] [-o text|json|yaml] [-q] [--matrix] [-n NAMESPACE]
                          [--fail-on-warnings] [--report FILE] [--strict-open-window] [--enforcement config|deny]

Dry-run manifests through the admission rules, offline. Objects are submitted in
order; each admitted object joins the state the next ones are judged against.

flags:
  -f, --filename PATH    file or directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable
      --state PATH       objects already in the cluster, same forms as -f; repeatable
      --config FILE      tenancy config (required): a TenancyConfig, the chart's
                         rendered ConfigMap, or a Helm values file (its tenancy:)
      --as USER          submit as USER (default: kubernetes-admin in system:masters, a platform admin)
      --as-group GROUP   groups of --as USER (system:authenticated is added); repeatable
      --operation OP     CREATE, UPDATE or DELETE (default: UPDATE when the object is in the state, else CREATE)
  -o, --output FORMAT    text (default), json or yaml (warnings as {rule, path, message})
  -q, --quiet            print only refusals (text: denied objects and their violations, no
                         summary; json/yaml: only the denied results)
      --fail-on-warnings exit 1 when any object draws a warning, as when one is denied
      --report FILE      also write the results as wgpolicyk8s.io/v1alpha2 PolicyReports (one per
                         namespace and a ClusterPolicyReport, YAML), like 'kyverno apply -p'
      --matrix           print the tenant-to-tenant reachability over Knative's four paths after the run
      --rules-url URL    base URL of docs/rules.md each violation links to ("" for none)
      --strict-open-window  refuse tenant workloads in namespaces whose baseline is not in the
                         state (TG-BASELINE-OPEN-WINDOW), as the webhook does in a cluster; by
                         default the baseline tenant-guard's controllers keep is assumed present
  -n, --namespace NS     namespace of namespaced objects that name none (default: default)
      --enforcement MODE config (default): the config's enforcement actions and
                         exceptions apply, as in the webhook (warn/audit findings
                         are listed, the object admitted); deny: every violation
                         refuses, as if every rule were enforced
  -h, --help             this help

exit status: 0 all allowed, 1 something denied (or, with --matrix, a cross-tenant path open; with
--fail-on-warnings, a warning), 2 usage, config or input error
`;

const FLAGS = {
  filename: { type: 'string', short: 'f', multiple: true },
  state: { type: 'string', multiple: true },
  config: { type: 'string' },
  as: { type: 'string' },
  'as-group': { type: 'string', multiple: true },
  operation: { type: 'string' },
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  'fail-on-warnings': { type: 'boolean' },
  report: { type: 'string' },
  matrix: { type: 'boolean' },
  'strict-open-window': { type: 'boolean' },
  'rules-url': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  enforcement: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const OPERATIONS: readonly ManifestOperation[] = ['CREATE', 'UPDATE', 'DELETE'];
const OUTPUTS = ['text', 'json', 'yaml'] as const;
const ENFORCEMENTS = ['config', 'deny'] as const;

/** The reachability model is a separate component; its failure is reported, never a stack trace. */
function matrixStep<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    throw new TenantGuardError('TG_ERR_ENGINE', `cannot compute the reachability matrix: ${describeError(e)}`, { cause: e });
  }
}

/** `tenant-guard check`: see HELP and docs/check.md. */
export async function runCheck(argv: string[], io: CliIO): Promise<number> {
  try {
    const flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      io.stdout.write(HELP);
      return EXIT_OK;
    }
    if (flags.filename.length === 0) throw new TenantGuardError('TG_ERR_USAGE', 'missing -f: name the manifests to check (a file, a directory, or - for stdin)');
    const output = oneOf('-o', flags.output ?? 'text', OUTPUTS);
    const operation = flags.operation === undefined ? undefined : oneOf('--operation', flags.operation, OPERATIONS);
    const defaultNamespace = namespaceFlag('-n', flags.namespace ?? 'default');
    const enforcement = oneOf('--enforcement', flags.enforcement ?? 'config', ENFORCEMENTS);
    const userInfo = impersonate(flags.as, flags['as-group']);
    const config = requiredConfig('check', flags.config, io.cwd);

    const stdin = onceStdin(io.stdin);
    const stateManifests = await loadManifests(flags.state, { cwd: io.cwd, stdin });
    const manifests = await loadManifests(flags.filename, { cwd: io.cwd, stdin });
    if (manifests.length === 0) {
      // Like `kubectl apply`: checking nothing is a mistake (an empty render, a wrong directory), not a pass.
      throw new TenantGuardError('TG_ERR_INPUT_INVALID', `no Kubernetes objects found in ${flags.filename.join(', ')}`);
    }

    const store = new MemoryStore();
    seedState(store, stateManifests, defaultNamespace);
    const results = checkManifests(manifests, store, config, { userInfo, operation, defaultNamespace, enforcement, strictOpenWindow: flags['strict-open-window'] });
    // Computed before printing anything, so a failure leaves no half report on stdout.
    const matrix: ReachabilityMatrix | undefined = flags.matrix ? matrixStep(() => computeMatrix(store, config)) : undefined;
    const matrixText = matrix && output === 'text' ? matrixStep(() => formatMatrixText(matrix)) : undefined;

    const openCells = matrix ? openCrossTenantCells(matrix) : [];
    if (flags.report !== undefined) writeCheckReport(resolve(io.cwd, flags.report), results, openCells);
    const shown = flags.quiet && output !== 'text' ? results.filter((r) => !r.decision.allowed) : results;
    const rulesUrl = flags['rules-url'] === '' ? undefined : (flags['rules-url'] ?? DEFAULT_RULES_URL);
    if (output === 'json') io.stdout.write(formatJson(shown, matrix, rulesUrl));
    else if (output === 'yaml') io.stdout.write(formatYaml(shown, matrix, rulesUrl));
    else {
      io.stdout.write(formatText(results, flags.quiet, rulesUrl));
      if (matrixText !== undefined && !(flags.quiet && openCells.length === 0)) io.stdout.write(`\nReachability after this run:\n${matrixText.endsWith('\n') ? matrixText : matrixText + '\n'}`);
    }
    // A CI gate: with --matrix, an open cross-tenant path fails the run like a denial does; with --fail-on-warnings, a warning.
    const warned = flags['fail-on-warnings'] && results.some((r) => r.decision.warnings.length > 0);
    return results.some((r) => !r.decision.allowed) || openCells.length > 0 || warned ? EXIT_DENIED : EXIT_OK;
  } catch (e) {
    const hint = isTenantGuardError(e) && e.code === 'TG_ERR_USAGE' ? `\n${seeHelp('check')}` : '';
    io.stderr.write(`${describeError(e)}${hint}\n`);
    return EXIT_USAGE;
  }
}
