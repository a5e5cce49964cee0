import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { parseConfigFileText } from '../config/load.js';
import type { TenancyConfig } from '../config/types.js';
import { expiryOf } from '../config/expiry.js';
import { describeError, isTenantGuardError, TenantGuardError, describeFsError } from '../errors.js';
import { watchFiles, type FileWatch, type FileWatchOptions } from './file-watch.js';
import { LOG, MSG } from './log-keys.js';
import type { ServerMetrics } from './metrics.js';

/** Where the app reads the tenancy config from, on every request (so a reload applies to the next one). */
export interface ConfigProvider {
  current(): TenancyConfig;
}

export function staticConfig(config: TenancyConfig): ConfigProvider {
  return { current: () => config };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CONFIG_READ', `${file}: cannot read: ${describeFsError(e)}`);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A config file, reloaded when it changes. A new file that does not parse or
 * validate is refused: the previous config stays in force (a typo in a
 * ConfigMap must not open or close the cluster), the error is logged with its
 * code and counted in tenant_guard_config_reloads_total{result="error"}.
 */
export class FileConfigProvider implements ConfigProvider {
  private config: TenancyConfig;
  private digest: string;
  /** Digest of the last refused file: a spurious file event does not log the same error again. */
  private refused: string | undefined;
  private watcher: FileWatch | undefined;

  /** Throws TG_ERR_CONFIG_READ / TG_ERR_CONFIG_INVALID when the initial file is not usable. */
  constructor(
    readonly file: string,
    private readonly logger: Logger,
    private readonly metrics?: Pick<ServerMetrics, 'configReloads'>,
  ) {
    const text = readText(file);
    this.config = parseConfigFileText(text, file);
    this.digest = digest(text);
    logExceptionExpiry(this.config, logger, Date.now());
  }

  current(): TenancyConfig {
    return this.config;
  }

  /** Re-read the file; true when a new config is now in force. */
  reload(): boolean {
    let d: string | undefined;
    try {
      const text = readText(this.file);
      d = digest(text);
      if (d === this.digest) {
        // Back to the config in force (a bad file was fixed): the bad one, written again, is news again.
        this.refused = undefined;
        return false;
      }
      if (d === this.refused) return false;
      this.config = parseConfigFileText(text, this.file);
      this.digest = d;
      this.refused = undefined;
    } catch (e) {
      this.refused = d;
      const code = isTenantGuardError(e) ? e.code : 'TG_ERR_CONFIG_INVALID';
      this.metrics?.configReloads.inc({ result: 'error' });
      this.logger.error({ [LOG.errorCode]: code, [LOG.file]: this.file, [LOG.error]: describeError(e) }, MSG.configReloadFailed);
      return false;
    }
    this.metrics?.configReloads.inc({ result: 'success' });
    this.logger.info({ [LOG.file]: this.file, tenants: this.config.tenants.length }, MSG.configReloaded);
    logExceptionExpiry(this.config, this.logger, Date.now());
    return true;
  }

  watch(opts: FileWatchOptions = {}): this {
    this.watcher ??= watchFiles([this.file], () => this.reload(), {
      ...opts,
      onWatchError: (e) => this.logger.warn({ [LOG.file]: this.file, [LOG.error]: e.message }, 'config file watch failed; polling'),
    });
    return this;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** One line per exception that has expired (it no longer matches) or expires within a week. */
export function logExceptionExpiry(config: TenancyConfig, logger: Logger, now: number): void {
  config.exceptions.forEach((x, i) => {
    const at = expiryOf(x.expires) ?? 0;
    const line = { [LOG.exception]: x.name ?? `exceptions[${i}]`, rules: x.rules, expires: x.expires };
    if (at <= now) logger.warn(line, MSG.exceptionExpired);
    else if (at - now < WEEK_MS) logger.info(line, MSG.exceptionExpiring);
  });
}
