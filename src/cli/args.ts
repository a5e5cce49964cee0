import { parseArgs } from 'node:util';
import { TenantGuardError } from '../errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string | undefined;

export type Flags<T extends Record<string, FlagSpec>> = { [K in keyof T]: FlagValue<T[K]> };

function usageError(message: string): TenantGuardError {
  return new TenantGuardError('TG_ERR_USAGE', message);
}

/**
 * Strict flag parsing shared by the subcommands: unknown flags, missing
 * values and positional arguments are usage errors (TG_ERR_USAGE), never
 * silently ignored. Repeatable flags come back as arrays (empty when absent),
 * booleans as false when absent.
 */
export function parseFlags<const T extends Record<string, FlagSpec>>(argv: string[], spec: T): Flags<T> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: spec, strict: true, allowPositionals: false });
  } catch (e) {
    // node:util messages are clear but end with a hint about `--` that does not apply here.
    const message = (e as Error).message.split('. To specify a positional argument')[0]!.split('\n')[0]!;
    throw usageError(message);
  }
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(spec)) {
    const v = parsed.values[name];
    if (s.multiple) out[name] = v ?? [];
    else if (s.type === 'boolean') out[name] = v ?? false;
    else out[name] = v;
  }
  return out as Flags<T>;
}

/** `value` must be one of `choices` (compared case-insensitively); returns the canonical choice. */
export function oneOf<C extends string>(flag: string, value: string, choices: readonly C[]): C {
  const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (!found) throw usageError(`${flag} must be one of ${choices.join(', ')}, not "${value}"`);
  return found;
}

// RFC 1123 label: the shape of a namespace name.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function namespaceFlag(flag: string, value: string): string {
  if (!DNS_LABEL.test(value)) throw usageError(`${flag} "${value}" is not a valid namespace name (RFC 1123 label)`);
  return value;
}
