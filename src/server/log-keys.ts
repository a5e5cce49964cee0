// Keys of the structured log lines, shared so that dashboards and alerts can
// rely on them and a typo cannot create a second spelling.

export const LOG = {
  uid: 'uid',
  endpoint: 'endpoint',
  kind: 'kind',
  namespace: 'namespace',
  name: 'name',
  operation: 'operation',
  subResource: 'subResource',
  user: 'user',
  dryRun: 'dryRun',
  decision: 'decision',
  rules: 'rules',
  latencyMs: 'latencyMs',
  warnings: 'warnings',
  errorCode: 'errorCode',
  error: 'err',
  file: 'file',
  address: 'address',
  objects: 'objects',
  /** Violations admitted by their action or an exception: `RULE:warn`, `RULE:audit`, `RULE:exception/<name>`. */
  relaxed: 'relaxed',
  exception: 'exception',
  /** The full messages of a decision whose answer was fitted to a tenant caller (debug). */
  fullMessages: 'fullMessages',
} as const;

/** Event names in the `msg` field. */
export const MSG = {
  decision: 'admission decision',
  redacted: "answer names another tenant's objects only by tenant; full messages here",
  exceptionExpired: 'exception expired; it no longer matches (remove it from the tenancy config, or extend it)',
  exceptionExpiring: 'exception expires within a week',
  reviewInvalid: 'invalid admission review',
  configReloaded: 'tenancy config reloaded',
  configReloadFailed: 'tenancy config reload failed; keeping the previous config',
  tlsReloaded: 'TLS certificate reloaded',
  tlsReloadFailed: 'TLS certificate reload failed; keeping the previous certificate',
  listening: 'tenant-guard serving',
  shutdownStarted: 'shutdown: failing readiness, draining',
  shutdownClosing: 'shutdown: closing the listener, waiting for in-flight requests',
  shutdownDone: 'shutdown complete',
} as const;

/**
 * Paths pino replaces with "[redacted]": objects under admission may be
 * Secrets or carry credentials in env vars, and private keys never belong in
 * a log.
 */
export const REDACT_PATHS = ['object', 'oldObject', '*.object', '*.oldObject', 'body', '*.body', 'key', '*.key', 'keyPem', '*.keyPem'];
