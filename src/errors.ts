// One registry of coded errors. Codes are stable: users grep logs and CI
// output for them, and tests assert on them rather than on message text.

export const ErrorCodes = {
  TG_ERR_CONFIG_INVALID: 'the tenancy config does not match its schema',
  TG_ERR_CONFIG_READ: 'the tenancy config file cannot be read or parsed',
  TG_ERR_INPUT_READ: 'an input file or directory cannot be read',
  TG_ERR_INPUT_PARSE: 'an input document is not valid YAML or JSON',
  TG_ERR_INPUT_INVALID: 'an input document is not a Kubernetes object',
  TG_ERR_USAGE: 'the command line is not valid',
  TG_ERR_TLS: 'TLS certificate or key cannot be loaded',
  TG_ERR_CERTS: 'certificates cannot be generated or written',
  TG_ERR_REVIEW_INVALID: 'the request body is not a valid AdmissionReview',
  TG_ERR_ENGINE: 'the engine could not judge the request',
  TG_ERR_CLUSTER: 'the cluster state cannot be read',
  TG_ERR_CLIENT_UNAUTHORIZED: 'the caller is not the API server (no client certificate, or not the accepted one)',
  TG_ERR_OVERLOADED: 'the server refused a request to keep its memory bounded (request bodies in flight)',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class TenantGuardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TenantGuardError';
    this.code = code;
  }

  /** One line for a terminal or a log: `TG_ERR_X: message`. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function isTenantGuardError(e: unknown): e is TenantGuardError {
  return e instanceof TenantGuardError;
}

/** A one-line description of any thrown value, never a stack trace. */
export function describeError(e: unknown): string {
  if (isTenantGuardError(e)) return e.toString();
  if (e instanceof Error) return e.message;
  return String(e);
}

const FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
};

/** A file-system error as words a user reads (`no such file or directory`), not `ENOENT`. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && FS_ERRORS[code]) return FS_ERRORS[code]!;
  return code ?? describeError(e);
}
