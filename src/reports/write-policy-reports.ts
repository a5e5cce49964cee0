// Writes the reports of src/reports/policy-reports.ts: create or replace each,
// then delete tenant-guard's reports in namespaces that no longer have one
// (found by label, so reports of other tools are never touched).
import { isHttpStatus, type KubeClient } from '../cluster/kube-client.js';
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

export interface WriteSummary {
  written: number;
  deleted: number;
}

/** Throws KubeHttpError 404 from the first request when the PolicyReport CRDs are not installed. */
export async function writePolicyReports(client: KubeClient, reports: { namespaced: PolicyReport[]; cluster: PolicyReport }): Promise<WriteSummary> {
  for (const r of [...reports.namespaced, reports.cluster]) await upsert(client, r);
  const keep = new Set(reports.namespaced.map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  const existing = await client.get<{ items: { metadata: { name: string; namespace: string } }[] }>(`${GROUP_PATH}/policyreports`, {
    labelSelector: `${REPORT_LABEL}=${REPORT_LABEL_VALUE}`,
  });
  let deleted = 0;
  for (const o of existing.items) {
    if (keep.has(`${o.metadata.namespace}/${o.metadata.name}`)) continue;
    try {
      await client.request('DELETE', `${GROUP_PATH}/namespaces/${o.metadata.namespace}/policyreports/${o.metadata.name}`);
      deleted++;
    } catch (e) {
      if (!isHttpStatus(e, 404)) throw e;
    }
  }
  return { written: reports.namespaced.length + 1, deleted };
}
