import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadDefaultTenancyConfig } from '../config/default.js';
import { loadTenancyConfig } from '../config/load.js';
import { describeError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { mutatingBindings, mutatingPolicies } from '../vap/mutating.js';
import { DEFAULT_PARAMS_NAME, policyBindings, validatingPolicies, paramsConfigMap, type KubeManifest, type ValidationAction } from '../vap/policies.js';
import { namespaceFlag, oneOf, parseFlags } from './args.js';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

const HELP = `usage: tenant-guard vap [--config FILE] [--namespace NS] [--params-name NAME]
                     [--validation-actions Deny,Warn,Audit] [--mutating] [--only policies|bindings|params] [-o yaml|json]

Print the stateless rules compiled to ValidatingAdmissionPolicies (one per kind
family), their bindings and the params ConfigMap they read the tenancy config
from (tenant label, tenant and system namespaces, drain ports, platform
identities). The API server then enforces these rules itself, with the
webhook's rule ids, whether or not the webhook answers (docs/rules.md lists
which rules hold without it).

  kubectl apply -f <(tenant-guard vap --config tenancy.yaml --namespace tenant-guard)

flags:
  --config FILE               tenancy config (default: the bundled examples/tenancy.yaml)
  --namespace NS              namespace of the params ConfigMap (default: tenant-guard)
  --params-name NAME          name of the params ConfigMap (default: ${DEFAULT_PARAMS_NAME})
  --validation-actions LIST   the bindings' validationActions (default: Deny)
  --mutating                  also the MutatingAdmissionPolicies (admissionregistration.k8s.io/v1,
                              Kubernetes 1.36+) adding the tenant label to workloads and their
                              pod templates and sidecar.istio.io/inject: "true" to Knative's
  --only WHAT                 print only the policies, the bindings or the params
  -o, --output yaml|json      yaml (default: documents separated by ---) or json (a v1 List)
  -h, --help                  show this help
`;

const FLAGS = {
  config: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'params-name': { type: 'string' },
  'validation-actions': { type: 'string' },
  mutating: { type: 'boolean' },
  only: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ACTIONS: readonly ValidationAction[] = ['Deny', 'Warn', 'Audit'];

/** `tenant-guard vap`: see HELP. */
export async function runVap(argv: string[], io: CliIO): Promise<number> {
  try {
    const flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      io.stdout.write(HELP);
      return EXIT_OK;
    }
    const config = flags.config === undefined ? loadDefaultTenancyConfig() : loadTenancyConfig(resolve(io.cwd, flags.config));
    const namespace = namespaceFlag('--namespace', flags.namespace ?? 'tenant-guard');
    const paramsName = flags['params-name'] ?? DEFAULT_PARAMS_NAME;
    const validationActions = (flags['validation-actions'] ?? 'Deny').split(',').map((a) => oneOf('--validation-actions', a.trim(), ACTIONS));
    if (validationActions.includes('Deny') && validationActions.includes('Warn')) {
      throw new TenantGuardError('TG_ERR_USAGE', '--validation-actions: Deny and Warn do not go together (the API server refuses the binding)');
    }
    const opts = { namespace, paramsName, validationActions };
    const only = flags.only === undefined ? undefined : oneOf('--only', flags.only, ['policies', 'bindings', 'params'] as const);
    const mutating = flags.mutating === true;
    const policies = [...validatingPolicies(), ...(mutating ? mutatingPolicies() : [])];
    const bindings = [...policyBindings(opts), ...(mutating ? mutatingBindings(opts) : [])];
    const docs: KubeManifest[] =
      only === 'policies' ? policies : only === 'bindings' ? bindings : only === 'params' ? [paramsConfigMap(config, namespace, paramsName)] : [paramsConfigMap(config, namespace, paramsName), ...policies, ...bindings];
    const output = oneOf('-o', flags.output ?? 'yaml', ['yaml', 'json'] as const);
    if (output === 'json') io.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }, null, 2) + '\n');
    else io.stdout.write(docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n'));
    return EXIT_OK;
  } catch (e) {
    const hint = isTenantGuardError(e) && e.code === 'TG_ERR_USAGE' ? "\nRun 'tenant-guard vap --help' for usage." : '';
    io.stderr.write(`${describeError(e)}${hint}\n`);
    return EXIT_USAGE;
  }
}
