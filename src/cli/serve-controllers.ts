// The flags of `serve` for its controllers: certificates mode `self`
// (docs/certs.md), PolicyReports (docs/audit.md), and their leader election.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSubjectNames } from '../certs/generate.js';
import type { ControllersOptions } from '../controllers/runtime.js';
import { defaultReplicaName, SELF_CERTS_DEFAULTS, type SelfCertsOptions } from '../controllers/self-certs-runtime.js';
import { describeError, TenantGuardError } from '../errors.js';
import type { Flags } from './args.js';

export const SELF_CERTS_FLAGS = {
  'self-certs': { type: 'string' },
  'cert-dns': { type: 'string', multiple: true },
  'cert-ip': { type: 'string', multiple: true },
  'mutating-webhook': { type: 'string' },
  'validating-webhook': { type: 'string' },
  'ca-validity': { type: 'string' },
  'cert-validity': { type: 'string' },
  'renew-at': { type: 'string' },
  'ca-settle': { type: 'string' },
  'ca-overlap': { type: 'string' },
  'cert-resync': { type: 'string' },
  'self-certs-dir': { type: 'string' },
} as const;

export const CONTROLLER_FLAGS = {
  ...SELF_CERTS_FLAGS,
  'policy-reports': { type: 'string' },
  'leader-lease': { type: 'string' },
  replica: { type: 'string' },
} as const;

export const DEFAULT_LEADER_LEASE = 'tenant-guard-leader';

export const CONTROLLERS_USAGE = `
certificates mode self (docs/certs.md; needs --kubeconfig or --in-cluster):
  --self-certs NS/SECRET    the leader keeps a CA and the serving certificate
                            in this Secret; every replica serves from it
  --cert-dns NAME           DNS SAN of the serving certificate (repeatable)
  --cert-ip ADDR            IP SAN (repeatable)
  --mutating-webhook NAME   the MutatingWebhookConfiguration whose caBundle
  --validating-webhook NAME and ValidatingWebhookConfiguration whose caBundle
                            tenant-guard keeps (required)
  --ca-validity DUR         lifetime of a CA (default 365d)
  --cert-validity DUR       lifetime of a serving certificate (default 90d)
  --renew-at FRACTION       renew at this fraction of a lifetime (default 0.67)
  --ca-settle DUR           wait between a new CA entering caBundle and its
                            first certificate being served (default 30s)
  --ca-overlap DUR          least time both CAs stay trusted (default 2m)
  --cert-resync DUR         longest time between two checks (default 30s)
  --self-certs-dir DIR      where the served pair is written (default $TMPDIR/tenant-guard-self-certs)

PolicyReports (docs/audit.md; needs --kubeconfig or --in-cluster):
  --policy-reports DUR      audit the cluster this often and write
                            wgpolicyk8s.io/v1alpha2 PolicyReports, e.g. 10m

leader election (only the leader writes; every replica serves admission):
  --leader-lease NS/NAME    the coordination.k8s.io Lease (default
                            NS-of---self-certs/${DEFAULT_LEADER_LEASE})
  --replica NAME            this replica's name (default $POD_NAME or the host name)
`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `30s`, `500ms`. */
export function parseLongDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m) throw new TenantGuardError('TG_ERR_USAGE', `${flag} must be a duration such as 90d, 12h, 30s or 500ms, not "${value}"`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function name(flag: string, v: string | undefined): string {
  if (!v || !NAME.test(v)) throw new TenantGuardError('TG_ERR_USAGE', `${flag} must be an object name (lowercase RFC 1123), not "${v ?? ''}"`);
  return v;
}

/** The options of mode self, or undefined without --self-certs; throws TG_ERR_USAGE. */
function selfCertsOptions(f: Flags<typeof CONTROLLER_FLAGS>, live: boolean): SelfCertsOptions | undefined {
  const usage = (m: string) => new TenantGuardError('TG_ERR_USAGE', m);
  if (!f['self-certs']) {
    const stray = Object.keys(SELF_CERTS_FLAGS).find((k) => k !== 'self-certs' && (Array.isArray(f[k as keyof typeof f]) ? (f[k as keyof typeof f] as string[]).length > 0 : f[k as keyof typeof f] !== undefined));
    if (stray) throw usage(`--${stray} is a flag of certificates mode self: add --self-certs NS/SECRET`);
    return undefined;
  }
  if (!live) throw usage('--self-certs keeps its Secret in a cluster: add --kubeconfig or --in-cluster');
  const [namespace, secretName, extra] = f['self-certs'].split('/');
  if (extra !== undefined || !namespace || !secretName) throw usage(`--self-certs must be NAMESPACE/SECRET, not "${f['self-certs']}"`);
  try {
    validateSubjectNames(f['cert-dns'], f['cert-ip']);
  } catch (e) {
    throw usage(`${describeError(e).replace(/^TG_ERR_CERTS: /, '')} (--cert-dns/--cert-ip)`);
  }
  const d = SELF_CERTS_DEFAULTS;
  const dur = (flag: keyof typeof f, def: number) => (f[flag] !== undefined ? parseLongDuration(`--${flag}`, f[flag] as string) : def);
  const renewFraction = f['renew-at'] !== undefined ? Number(f['renew-at']) : d.renewFraction;
  if (!(renewFraction > 0 && renewFraction < 1)) throw usage(`--renew-at must be a fraction between 0 and 1 exclusive, not "${f['renew-at']}"`);
  const caLifetimeMs = dur('ca-validity', d.caLifetimeMs);
  const servingLifetimeMs = dur('cert-validity', d.servingLifetimeMs);
  if (servingLifetimeMs > caLifetimeMs) throw usage('--cert-validity cannot be longer than --ca-validity');
  return {
    namespace: name('--self-certs namespace', namespace),
    secretName: name('--self-certs secret', secretName),
    dir: f['self-certs-dir'] ?? join(tmpdir(), 'tenant-guard-self-certs'),
    replica: name('--replica', f.replica ?? defaultReplicaName()),
    settings: {
      dnsNames: f['cert-dns'],
      ipAddresses: f['cert-ip'],
      caLifetimeMs,
      servingLifetimeMs,
      renewFraction,
      settleMs: dur('ca-settle', d.settleMs),
      overlapMs: dur('ca-overlap', d.overlapMs),
      caCommonName: d.caCommonName,
    },
    webhooks: { mutating: name('--mutating-webhook', f['mutating-webhook']), validating: name('--validating-webhook', f['validating-webhook']) },
    resyncMs: dur('cert-resync', d.resyncMs),
    reportProbeMs: d.reportProbeMs,
    reportLeaseMs: d.reportLeaseMs,
    startTimeoutMs: d.startTimeoutMs,
  };
}

/** The controllers' options, or undefined when no controller is asked for; throws TG_ERR_USAGE. */
export function controllersOptions(
  f: Flags<typeof CONTROLLER_FLAGS>,
  live: boolean,
  /** The baseline controllers' Lease (serve --controllers): then the one Lease of all leader-only work. */
  controllersLease?: { namespace: string; name: string },
): ControllersOptions | undefined {
  const usage = (m: string) => new TenantGuardError('TG_ERR_USAGE', m);
  const selfCerts = selfCertsOptions(f, live);
  const policyReports = f['policy-reports'] !== undefined ? parseLongDuration('--policy-reports', f['policy-reports']) : undefined;
  if (policyReports !== undefined && !live) throw usage('--policy-reports audits a cluster: add --kubeconfig or --in-cluster');
  if (policyReports !== undefined && policyReports < 10_000) throw usage('--policy-reports is the interval of a full audit: at least 10s');
  if (!selfCerts && policyReports === undefined) {
    if (f['leader-lease'] || f.replica) throw usage('--leader-lease and --replica elect the writer of --self-certs or --policy-reports: add one of them');
    return undefined;
  }
  let lease: { namespace: string; name: string };
  if (f['leader-lease']) {
    const [ns, n, extra] = f['leader-lease'].split('/');
    if (!ns || !n || extra !== undefined) throw usage(`--leader-lease must be NAMESPACE/NAME, not "${f['leader-lease']}"`);
    lease = { namespace: name('--leader-lease namespace', ns), name: name('--leader-lease name', n) };
  } else if (controllersLease) lease = controllersLease;
  else if (selfCerts) lease = { namespace: selfCerts.namespace, name: DEFAULT_LEADER_LEASE };
  else throw usage('--policy-reports without --self-certs needs --leader-lease NAMESPACE/NAME');
  return {
    leaderLease: lease,
    replica: name('--replica', f.replica ?? defaultReplicaName()),
    ...(selfCerts ? { selfCerts } : {}),
    ...(policyReports !== undefined ? { policyReportsIntervalMs: policyReports } : {}),
  };
}
