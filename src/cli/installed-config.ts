import type { KubeClient } from '../cluster/kube-client.js';
import { CONFIGMAP_KEY, parseTenancyConfigText } from '../config/load.js';
import type { TenancyConfig } from '../config/types.js';
import { TenantGuardError } from '../errors.js';
import { missingConfig } from './config-flag.js';

/** Every object the chart renders carries this label (charts/tenant-guard/templates/_helpers.tpl). */
export const INSTALLED_SELECTOR = 'app.kubernetes.io/part-of=tenant-guard';

interface ConfigMapList {
  items: { metadata: { name: string; namespace: string }; data?: Record<string, string> }[];
}

/**
 * The tenancy config of the tenant-guard installed in the cluster: the one
 * ConfigMap labelled by the chart that holds tenancy.yaml. None, or more than
 * one (two installs), is an error asking for --config: guessing would judge
 * the cluster against the wrong tenants.
 */
export async function installedConfig(client: KubeClient, command: string): Promise<{ config: TenancyConfig; source: string }> {
  const list = await client.request<ConfigMapList>('GET', '/api/v1/configmaps', { query: { labelSelector: INSTALLED_SELECTOR } });
  const found = list.items.filter((c) => typeof c.data?.[CONFIGMAP_KEY] === 'string');
  if (found.length === 0) throw missingConfig(command, `; no ConfigMap labelled ${INSTALLED_SELECTOR} with ${CONFIGMAP_KEY} in the cluster`);
  if (found.length > 1) {
    const names = found.map((c) => `${c.metadata.namespace}/${c.metadata.name}`).join(', ');
    throw new TenantGuardError('TG_ERR_USAGE', `${found.length} tenant-guard config ConfigMaps in the cluster (${names}): pass --config`);
  }
  const cm = found[0]!;
  const source = `ConfigMap ${cm.metadata.namespace}/${cm.metadata.name}`;
  return { config: parseTenancyConfigText(cm.data![CONFIGMAP_KEY]!, `${source} ${CONFIGMAP_KEY}`), source };
}
