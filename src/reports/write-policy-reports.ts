// Writes the reports of src/reports/policy-reports.ts: create or replace each,
// then delete tenant-guard's reports in namespaces that no longer have one
// (found by label, so reports of other tools are never touched).
//
// Every write stands on its own: one that fails (a namespace held in
// Terminating by a finalizer answers 403 to any create) is retried when the
// error may pass, then reported, and the others are written all the same.
// The ClusterPolicyReport, the one that lists open cross-tenant paths, goes
// first, so no namespace's trouble can keep it from being written.
import { setTimeout as sleep } from 'node:timers/promises';
import { isHttpStatus, KubeHttpError, type KubeClient } from '../cluster/kube-client.js';
import type { MemoryStore } from '../cluster/memory-store.js';
import { GK } from '../cluster/state.js';
import { describeError } from '../errors.js';
import { REPORT_LABEL, REPORT_LABEL_VALUE, type PolicyReport } from './policy-reports.js';

const GROUP_PATH = '/apis/wgpolicyk8s.io/v1alpha2';

function collection(r: Pick<PolicyReport, 'kind' | 'metadata'>): string {
  return r.kind === 'ClusterPolicyReport' ? `${GROUP_PATH}/clusterpolicyreports` : `${GROUP_PATH}/namespaces/${r.metadata.namespace}/policyreports`;
}

async function upsert(client: KubeClient, r: PolicyReport): Promise<void> {
  const path = `${collection(r)}/${r.metadata.name}`;
  try {
    const current = await client.get<{ metadata: { resourceVersion: string } }>(path);
    await client.request('PUT', path, { body: { ...r, metadata: { ...r.metadata, resourceVersion: current.metadata.resourceVersion } } });
  } catch (e) {
    if (!isHttpStatus(e, 404)) throw e;
    await client.request('POST', collection(r), { body: r });
  }
}

/** Namespaces being deleted: the API server refuses any new object in them. */
export function terminatingNamespaces(store: MemoryStore): Set<string> {
  const out = new Set<string>();
  for (const ns of store.list(GK.Namespace)) {
    const o = ns as { metadata: { name: string; deletionTimestamp?: string }; status?: { phase?: string } };
    if (o.status?.phase === 'Terminating' || o.metadata.deletionTimestamp) out.add(o.metadata.name);
  }
  return out;
}

/** The namespace refused new content because it is being deleted (the API server's NamespaceLifecycle admission). */
export function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof KubeHttpError && e.status === 403 && /being terminated/i.test(e.message);
}

/**
 * Worth another try: a conflict (the report changed between get and put),
 * throttling, a server error, or no HTTP answer at all (connection reset,
 * timeout). A 403, 404 or 422 will be the same next time.
 */
function retriable(e: unknown): boolean {
  if (!(e instanceof KubeHttpError)) return true;
  return e.status === 409 || e.status === 429 || e.status >= 500;
}

export interface WriteRetry {
  /** Tries per report, the first included. */
  attempts: number;
  /** Wait before the second try; doubled for each next one, up to maxMs, with ±25% jitter. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetry = { attempts: 4, baseMs: 250, maxMs: 4_000 };

export interface WriteOptions {
  /** Namespaces being deleted: their report is neither written nor deleted (the namespace takes it along). */
  terminating?: ReadonlySet<string>;
  retry?: WriteRetry;
  /** A report that could not be written after its tries, or a stale one that could not be deleted. */
  onFailure?: (failure: WriteFailure) => void;
}

export interface WriteFailure {
  /** `ClusterPolicyReport/tenant-guard` or `<namespace>/tenant-guard`. */
  report: string;
  action: 'write' | 'delete' | 'list';
  status: number | undefined;
  error: string;
  attempts: number;
}

export interface WriteSummary {
  written: number;
  deleted: number;
  /** Namespaces whose report was skipped because they are terminating. */
  skipped: string[];
  failures: WriteFailure[];
  /** True when the ClusterPolicyReport was written. */
  clusterWritten: boolean;
}

async function withRetry(retry: WriteRetry, op: () => Promise<void>): Promise<{ error?: unknown; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      await op();
      return { attempts: attempt };
    } catch (e) {
      if (attempt >= retry.attempts || !retriable(e) || isNamespaceTerminating(e)) return { error: e, attempts: attempt };
      const wait = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1));
      await sleep(wait * (0.75 + Math.random() * 0.5));
    }
  }
}

function nameOf(r: PolicyReport): string {
  return r.kind === 'ClusterPolicyReport' ? `ClusterPolicyReport/${r.metadata.name}` : `${r.metadata.namespace}/${r.metadata.name}`;
}

/**
 * Write every report, each independently; never throws for a report's own
 * failure (see `failures`). The caller decides what a failure means: the
 * controller logs and counts it, `audit --report` exits with an error after
 * writing the rest.
 */
export async function writePolicyReports(client: KubeClient, reports: { namespaced: PolicyReport[]; cluster: PolicyReport }, opts: WriteOptions = {}): Promise<WriteSummary> {
  const retry = opts.retry ?? DEFAULT_WRITE_RETRY;
  const terminating = opts.terminating ?? new Set<string>();
  const summary: WriteSummary = { written: 0, deleted: 0, skipped: [], failures: [], clusterWritten: false };
  const fail = (f: WriteFailure) => {
    summary.failures.push(f);
    opts.onFailure?.(f);
  };
  for (const r of [reports.cluster, ...reports.namespaced]) {
    const ns = r.metadata.namespace;
    if (ns !== undefined && terminating.has(ns)) {
      summary.skipped.push(ns);
      continue;
    }
    const { error, attempts } = await withRetry(retry, () => upsert(client, r));
    if (error === undefined) {
      summary.written++;
      if (r.kind === 'ClusterPolicyReport') summary.clusterWritten = true;
    } else if (ns !== undefined && isNamespaceTerminating(error)) {
      // Began terminating after the snapshot: the same as skipped.
      summary.skipped.push(ns);
    } else {
      fail({ report: nameOf(r), action: 'write', status: error instanceof KubeHttpError ? error.status : undefined, error: describeError(error), attempts });
    }
  }

  const keep = new Set(reports.namespaced.map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  let existing: { items: { metadata: { name: string; namespace: string } }[] } | undefined;
  const listed = await withRetry(retry, async () => {
    existing = await client.get(`${GROUP_PATH}/policyreports`, { labelSelector: `${REPORT_LABEL}=${REPORT_LABEL_VALUE}` });
  });
  if (listed.error !== undefined || !existing) {
    const e = listed.error;
    fail({ report: 'PolicyReports', action: 'list', status: e instanceof KubeHttpError ? e.status : undefined, error: describeError(e), attempts: listed.attempts });
    return summary;
  }
  for (const o of existing.items) {
    const ns = o.metadata.namespace;
    if (keep.has(`${ns}/${o.metadata.name}`) || terminating.has(ns)) continue;
    const { error, attempts } = await withRetry(retry, async () => {
      try {
        await client.request('DELETE', `${GROUP_PATH}/namespaces/${ns}/policyreports/${o.metadata.name}`);
      } catch (e) {
        if (!isHttpStatus(e, 404)) throw e;
      }
    });
    if (error === undefined) summary.deleted++;
    else fail({ report: `${ns}/${o.metadata.name}`, action: 'delete', status: error instanceof KubeHttpError ? error.status : undefined, error: describeError(error), attempts });
  }
  return summary;
}
