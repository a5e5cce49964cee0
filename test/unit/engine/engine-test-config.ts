// Configs and YAML parsing shared by the engine rule tests (not a test file itself).
import { parseAllDocuments } from 'yaml';
import { loadDefaultTenancyConfig } from '../../../src/config/default.js';
import { parseTenancyConfig } from '../../../src/config/load.js';
import type { TenancyConfig } from '../../../src/config/types.js';
import type { KubeObject } from '../../../src/engine/types.js';

/** The bundled reference config: tenant-1 (alice), tenant-2 (bob). */
export const defaultConfig: TenancyConfig = loadDefaultTenancyConfig();

/** Per-tenant control planes: tenant-1 on rev-t1, tenant-2 on rev-t2. */
export const revisionConfig: TenancyConfig = parseTenancyConfig(
  {
    ...structuredClone(defaultConfig),
    tenants: defaultConfig.tenants.map((t) => ({ ...structuredClone(t), revision: t.name === 'tenant-1' ? 'rev-t1' : 'rev-t2' })),
  },
  'revision test config',
);

/** Every non-empty document of a YAML stream. */
export function yamlDocs(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null && typeof d === 'object');
}
