import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTenancyConfig } from './load.js';
import type { TenancyConfig } from './types.js';

// src/config and dist/config are both two levels below the package root.
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../examples/tenancy.yaml', import.meta.url));

/** The bundled example config: the reference setup's two tenants. */
export function loadDefaultTenancyConfig(): TenancyConfig {
  return loadTenancyConfig(DEFAULT_CONFIG_PATH);
}

/** Whether `file` is the bundled demo config (the same file, however it was named). */
export function isDemoConfig(file: string): boolean {
  try {
    return realpathSync(file) === realpathSync(DEFAULT_CONFIG_PATH);
  } catch {
    return false;
  }
}
