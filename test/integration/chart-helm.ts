// Shared by the chart tests (test/integration/chart*.test.ts): finds the real
// helm binary and renders charts/tenant-guard with it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CHART = join(ROOT, 'charts/tenant-guard');
export const RELEASE = 'tg';
export const NAMESPACE = 'tenant-guard';
export const FULLNAME = `${RELEASE}-tenant-guard`;
/**
 * The chart requires Kubernetes >= 1.30 (Chart.yaml kubeVersion). helm built
 * from its Go module without release ldflags assumes v1.20 for offline
 * rendering, so every offline render states the version explicitly.
 */
export const KUBE_VERSION = '1.34.4';

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

let helmPath: string | undefined;

/**
 * TG_HELM, else the e2e cache's bin/helm, else build it with the lead's
 * script (cached by version; it prints its bin dir on the last stdout line).
 * Never skips: a missing helm is a failure, not a pass.
 */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  const fromEnv = process.env.TG_HELM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TG_HELM=${fromEnv} does not exist`);
    return (helmPath = fromEnv);
  }
  const cacheRoot = process.env.TG_E2E_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tenant-guard-e2e');
  const cached = join(cacheRoot, 'bin/helm');
  if (existsSync(cached)) return (helmPath = cached);
  const build = spawnSync('bash', [join(ROOT, 'test/e2e/tools/build-binaries.sh'), 'helm'], { encoding: 'utf8', cwd: ROOT });
  const binDir = build.stdout.trim().split('\n').pop() ?? '';
  const built = join(binDir, 'helm');
  if (build.status !== 0 || !existsSync(built)) {
    throw new Error(`no helm: set TG_HELM, or fix test/e2e/tools/build-binaries.sh helm (exit ${build.status}):\n${build.stderr}`);
  }
  return (helmPath = built);
}

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function helmEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // A private config/cache dir: no user repositories or plugins leak in.
  return { ...process.env, HELM_CONFIG_HOME: join(ROOT, '.tap/helm-config'), HELM_CACHE_HOME: join(ROOT, '.tap/helm-cache'), ...env };
}

export function helm(args: string[], env: NodeJS.ProcessEnv = {}): HelmResult {
  const r = spawnSync(helmBinary(), args, { encoding: 'utf8', cwd: ROOT, env: helmEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like helm(), without blocking the event loop (for tests that serve helm over HTTP in-process). */
export function helmAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(helmBinary(), args, { cwd: ROOT, env: helmEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `helm template` of the chart as release tg in namespace tenant-guard; extra args appended. */
export function template(args: string[] = [], env: NodeJS.ProcessEnv = {}): HelmResult {
  return helm(templateArgs(args), env);
}

export function parseDocs(text: string): KubeDoc[] {
  const out: KubeDoc[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v as KubeDoc);
  }
  return out;
}

function templateArgs(args: string[]): string[] {
  return ['template', RELEASE, CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...args];
}

function parsed(args: string[], r: HelmResult): KubeDoc[] {
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return parseDocs(r.stdout);
}

/** Render and parse; throws with helm's stderr when rendering fails. */
export function render(args: string[] = [], env: NodeJS.ProcessEnv = {}): KubeDoc[] {
  return parsed(args, template(args, env));
}

export async function renderAsync(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<KubeDoc[]> {
  return parsed(args, await helmAsync(templateArgs(args), env));
}

export function find(docs: KubeDoc[], kind: string, name?: string): KubeDoc {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!d) throw new Error(`no ${kind}${name ? ` ${name}` : ''} rendered (got ${docs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return d;
}

/** Every webhook of both configurations, with the kind of configuration it is in. */
export function webhooks(docs: KubeDoc[]): { config: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration'; hook: any }[] {
  return docs
    .filter((d) => d.kind === 'MutatingWebhookConfiguration' || d.kind === 'ValidatingWebhookConfiguration')
    .flatMap((d) => (d.webhooks as any[]).map((hook) => ({ config: d.kind as 'MutatingWebhookConfiguration', hook })));
}
