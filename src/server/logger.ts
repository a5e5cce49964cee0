import type { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';
import { REDACT_PATHS } from './log-keys.js';

export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * The one logger of a serve process: JSON lines to `destination`, object
 * bodies and keys redacted whatever the level. Everything else gets a child.
 */
export function createLogger(level: Level, destination: Writable): Logger {
  return pino(
    {
      level,
      base: { service: 'tenant-guard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}
