import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import { loadManifests } from '../cluster/manifests.js';
import { MemoryStore } from '../cluster/memory-store.js';
import { loadTenancyConfig } from '../config/load.js';
import { describeError, describeFsError, isTenantGuardError, TenantGuardError } from '../errors.js';
import { structuredWarning } from '../reports/warnings.js';
import { parseFlags } from './args.js';
import { impersonate } from './check-identity.js';
import { checkManifests, seedState, type CheckResult } from './check-run.js';
import { seeHelp } from './config-flag.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

/** The file `tenant-guard test` looks for in every directory below DIR (like kyverno-test.yaml). */
export const TEST_FILE = 'tenant-guard-test.yaml';

const HELP = `usage: tenant-guard test DIR... [-q]

Run test suites: every ${TEST_FILE} below DIR lists a tenancy config, the
state, the manifests to submit and, per object, the expected verdict and rule
ids (like 'kyverno test'). Paths are relative to the test file.

  apiVersion: tenant-guard.dev/v1alpha1
  kind: Test
  metadata: {name: tenant-1-services}
  config: ../tenancy.yaml          # required: TenancyConfig, ConfigMap or Helm values
  state: [state/]                  # optional: objects already in the cluster
  resources: [services.yaml]       # required: submitted in order
  as: alice                        # optional, with asGroups: [tenant-1-admins]
  results:
    - {kind: Service, namespace: tenant-1, name: bad, result: denied, rules: [TG-WORKLOAD-INJECT-OPTOUT]}
    - {kind: Service, namespace: tenant-1, name: ok, result: allowed}

result: denied, allowed (admitted, possibly patched) or passed (not intercepted).
rules (optional): exactly these rule ids: the violations of a denied object,
the rules of an allowed object's warnings.

flags:
  -q, --quiet     print failures only
  -h, --help      this help

exit status: 0 every expected result matched, 1 a mismatch, 2 usage or input error
`;

const schema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'config', 'resources', 'results'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'tenant-guard.dev/v1alpha1' },
    kind: { const: 'Test' },
    metadata: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: true },
    config: { type: 'string' },
    state: { type: 'array', items: { type: 'string' } },
    resources: { type: 'array', minItems: 1, items: { type: 'string' } },
    as: { type: 'string' },
    asGroups: { type: 'array', items: { type: 'string' } },
    operation: { enum: ['CREATE', 'UPDATE', 'DELETE'] },
    namespace: { type: 'string' },
    strictOpenWindow: { type: 'boolean' },
    results: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['kind', 'name', 'result'],
        additionalProperties: false,
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          namespace: { type: 'string' },
          name: { type: 'string' },
          result: { enum: ['denied', 'allowed', 'passed'] },
          rules: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

interface Expected {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  result: 'denied' | 'allowed' | 'passed';
  rules?: string[];
}

interface TestFile {
  apiVersion: string;
  kind: 'Test';
  metadata?: { name?: string };
  config: string;
  state?: string[];
  resources: string[];
  as?: string;
  asGroups?: string[];
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  namespace?: string;
  strictOpenWindow?: boolean;
  results: Expected[];
}

const validate = new Ajv({ allErrors: true, strict: true }).compile<TestFile>(schema);

/** Every test file below `dir` (a test file given directly counts too), sorted. */
export function findTestFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_INPUT_READ', `${path}: cannot read: ${describeFsError(e)}`);
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...findTestFiles(join(path, entry.name)));
    else if (entry.isFile() && entry.name === TEST_FILE) out.push(join(path, entry.name));
  }
  return out;
}

function readTestFile(file: string): TestFile {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new TenantGuardError('TG_ERR_INPUT_PARSE', `${file}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const value: unknown = doc.toJS();
  if (!validate(value)) {
    const details = (validate.errors ?? []).map((e) => `${e.instancePath.slice(1).replace(/\//g, '.') || '(root)'}: ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : ''}`);
    throw new TenantGuardError('TG_ERR_INPUT_INVALID', `${file}: ${details.join('; ')}`);
  }
  return value;
}

/** The rule ids an object's result is compared on: violations when denied, warning rules when admitted. */
function rulesOf(r: CheckResult): string[] {
  if (!r.decision.allowed) return r.decision.violations.map((v) => v.rule);
  return r.decision.warnings.map((w) => structuredWarning(w).rule).filter((x): x is string => x !== null);
}

function verdictOf(r: CheckResult): Expected['result'] {
  return !r.decision.allowed ? 'denied' : r.decision.intercepted ? 'allowed' : 'passed';
}

const ref = (e: { kind: string; namespace?: string; name: string }) => `${e.kind} ${e.namespace ? `${e.namespace}/` : ''}${e.name}`;

export interface TestOutcome {
  file: string;
  name: string;
  lines: { ok: boolean; text: string }[];
}

/** Runs one test file; throws coded errors for unusable input. */
export async function runTestFile(file: string): Promise<TestOutcome> {
  const t = readTestFile(file);
  const base = dirname(file);
  const config = loadTenancyConfig(resolve(base, t.config));
  const defaultNamespace = t.namespace ?? 'default';
  const store = new MemoryStore();
  seedState(store, await loadManifests(t.state ?? [], { cwd: base }), defaultNamespace);
  const manifests = await loadManifests(t.resources, { cwd: base });
  const results = checkManifests(manifests, store, config, {
    userInfo: impersonate(t.as, t.asGroups ?? []),
    ...(t.operation ? { operation: t.operation } : {}),
    defaultNamespace,
    strictOpenWindow: t.strictOpenWindow ?? false,
  });
  const lines = t.results.map((e) => {
    const found = results.filter(
      (r) =>
        r.object.kind === e.kind &&
        (r.object.metadata.name ?? '') === e.name &&
        (e.namespace === undefined || (r.object.metadata.namespace ?? '') === e.namespace) &&
        (e.apiVersion === undefined || r.object.apiVersion === e.apiVersion),
    );
    if (found.length === 0) return { ok: false, text: `${ref(e)}: not among the resources` };
    // The last submission of an object is its final verdict (a file may apply it twice).
    const r = found[found.length - 1]!;
    const got = verdictOf(r);
    const rules = rulesOf(r);
    const shown = rules.length > 0 ? ` [${rules.join(', ')}]` : '';
    if (got !== e.result) return { ok: false, text: `${ref(e)}: expected ${e.result}, got ${got}${shown}` };
    if (e.rules) {
      const want = [...new Set(e.rules)].sort();
      const have = [...new Set(rules)].sort();
      if (want.join() !== have.join()) return { ok: false, text: `${ref(e)}: ${got}, expected rules [${want.join(', ')}], got [${have.join(', ')}]` };
    }
    return { ok: true, text: `${ref(e)}: ${got}${shown}` };
  });
  return { file, name: t.metadata?.name ?? relative(process.cwd(), file), lines };
}

/** `tenant-guard test`: see HELP. */
export async function runTest(argv: string[], io: CliIO): Promise<number> {
  try {
    const flags = parseFlags(
      argv.filter((a) => a.startsWith('-')),
      { quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } },
    );
    if (flags.help) {
      io.stdout.write(HELP);
      return EXIT_OK;
    }
    const dirs = argv.filter((a) => !a.startsWith('-'));
    if (dirs.length === 0) throw new TenantGuardError('TG_ERR_USAGE', `missing DIR: name a directory holding ${TEST_FILE} files`);
    const files = dirs.flatMap((d) => findTestFiles(resolve(io.cwd, d)));
    if (files.length === 0) throw new TenantGuardError('TG_ERR_INPUT_INVALID', `no ${TEST_FILE} found in ${dirs.join(', ')}`);
    let passed = 0;
    let failed = 0;
    for (const file of files) {
      const outcome = await runTestFile(file);
      const bad = outcome.lines.filter((l) => !l.ok);
      passed += outcome.lines.length - bad.length;
      failed += bad.length;
      const shown = flags.quiet ? bad : outcome.lines;
      if (shown.length === 0) continue;
      io.stdout.write(`${relative(io.cwd, file)} (${outcome.name}):\n`);
      for (const l of shown) io.stdout.write(`  ${l.ok ? 'PASS' : 'FAIL'} ${l.text}\n`);
    }
    io.stdout.write(`${files.length} test file${files.length === 1 ? '' : 's'}, ${passed + failed} results: ${passed} passed, ${failed} failed\n`);
    return failed > 0 ? EXIT_DENIED : EXIT_OK;
  } catch (e) {
    const hint = isTenantGuardError(e) && e.code === 'TG_ERR_USAGE' ? `\n${seeHelp('test')}` : '';
    io.stderr.write(`${isTenantGuardError(e) ? e.toString() : describeError(e)}${hint}\n`);
    return EXIT_USAGE;
  }
}
