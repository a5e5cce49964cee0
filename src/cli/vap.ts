import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadDefaultTenancyConfig } from '../config/default.js';
import { loadTenancyConfig } from '../config/load.js';
import { describeError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { mutatingBindings, mutatingPolicies } from '../vap/mutating.js';
import { DEFAULT_RELEASE, naming, paramsConfigMaps, policyBindings, validatingPolicies, type KubeManifest } from '../vap/policies.js';
import { namespaceFlag, oneOf, parseFlags } from './args.js';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

const HELP = `usage: tenant-guard vap [--config FILE] [--namespace NS] [--release NAME] [--params-name NAME]
                     [--mutating] [--only policies|bindings|params] [-o yaml|json]

Print the stateless rules compiled to ValidatingAdmissionPolicies (one per kind
family), their bindings and the params ConfigMaps they read the tenancy config
from (tenant label, tenant and system namespaces, drain ports, platform
identities, the shared gateway's selector, the enforcement and the
exceptions). The API server then enforces these rules itself, with the
webhook's rule ids, whether or not the webhook answers (docs/rules.md lists
which rules hold without it).

The bindings follow the config's enforcement (docs/enforcement.md): one
binding per policy and action in use, validationActions [Deny] for deny,
[Warn, Audit] for warn, [Audit] for audit; each rule fails only in the binding
of its action where the object is, and an exception in scope (not expired now)
lifts it as in the webhook. Run it again after an exception expires.

  kubectl apply -f <(tenant-guard vap --config tenancy.yaml --namespace tenant-guard)

flags:
  --config FILE               tenancy config (default: the bundled examples/tenancy.yaml)
  --namespace NS              namespace of the params ConfigMaps (default: tenant-guard)
  --release NAME              name the objects as the Helm release NAME does: <fullname>-workloads, ...
                              (fullname: NAME, with -tenant-guard appended unless NAME contains it;
                              default: ${DEFAULT_RELEASE}), so two installs do not collide
  --params-name NAME          name of the deny params ConfigMap (default: <fullname>-vap-params;
                              the warn and audit ones add -warn, -audit)
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
  release: { type: 'string' },
  'params-name': { type: 'string' },
  mutating: { type: 'boolean' },
  only: { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A lower-case DNS label of at most `max` characters (Helm release names: 53; -warn/-audit are added to the params name). */
function objectName(flag: string, value: string, max: number): string {
  if (value.length > max || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
    throw new TenantGuardError('TG_ERR_USAGE', `${flag} "${value}" is not a valid name (lower-case letters, digits and -, at most ${max} characters)`);
  }
  return value;
}

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
    const release = objectName('--release', flags.release ?? DEFAULT_RELEASE, 53);
    const paramsName = flags['params-name'] === undefined ? undefined : objectName('--params-name', flags['params-name'], 57);
    const opts = { namespace, release, ...(paramsName ? { paramsName } : {}) };
    const n = naming(release, paramsName);
    const only = flags.only === undefined ? undefined : oneOf('--only', flags.only, ['policies', 'bindings', 'params'] as const);
    const mutating = flags.mutating === true;
    const policies = [...validatingPolicies(n), ...(mutating ? mutatingPolicies(n) : [])];
    const bindings = [...policyBindings(config, opts), ...(mutating ? mutatingBindings(opts) : [])];
    const params = paramsConfigMaps(config, opts);
    const docs: KubeManifest[] = only === 'policies' ? policies : only === 'bindings' ? bindings : only === 'params' ? params : [...params, ...policies, ...bindings];
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
