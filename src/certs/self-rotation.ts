// Certificates mode `self`: the decisions of the rotation, without I/O. The
// controller (src/controllers/self-certificates.ts) reads the Secret and the
// replicas' reports, calls planRotation, and writes what it returns.
//
// The CA roll is the sequence cert-manager's and Kyverno's webhooks use, made
// explicit so that no API server ever sees a certificate it does not trust:
//   1. a new CA joins the trust bundle (old + new) and becomes the signer;
//      the bundle goes into both webhook configurations' caBundle;
//   2. after `settleMs` (API servers pick webhook configuration changes up
//      through an informer), a serving certificate signed by the new CA is
//      issued; replicas reload it;
//   3. when every live replica reports serving it (and at least `overlapMs`
//      after it was issued), the old CA leaves the bundle.
// A serving certificate renewed under the same CA needs no overlap: both the
// old and the new one chain to a CA the bundle holds.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { CLOCK_SKEW_MS, createCertificateAuthority, createServingCertificate, type CertifiedKey } from './generate.js';

export interface SelfCertSettings {
  dnsNames: string[];
  ipAddresses: string[];
  caLifetimeMs: number;
  servingLifetimeMs: number;
  /** Renew a certificate once this fraction of its lifetime has passed (0 < f < 1). */
  renewFraction: number;
  /** Time between a new CA entering caBundle and the first certificate it signs being served. */
  settleMs: number;
  /** Minimum time between the first serving certificate of a new CA and dropping the old CA. */
  overlapMs: number;
  caCommonName: string;
}

/** What the Secret holds (see SECRET_KEYS). */
export interface SelfCertState {
  /** The CA that signs new serving certificates. */
  signer?: CertifiedKey;
  /** Trusted CAs, PEM each: exactly what goes into caBundle. */
  bundle: string[];
  serving?: CertifiedKey;
  /** When a CA last joined the bundle. */
  bundleChangedAt?: Date;
}

/** One replica's report: the certificate its listener presents (PEM). */
export interface ServingReport {
  replica: string;
  certPem: string;
}

export interface RotationPlan {
  state: SelfCertState;
  /** What changed, for logs and metrics; empty when nothing did. */
  actions: RotationAction[];
  /** When the plan should be made again at the latest (a renewal or a wait ending). */
  wakeAt: Date;
  /** Why the old CA is still in the bundle, when it is. */
  waitingFor?: string;
}

export type RotationAction = 'ca-created' | 'ca-rotated' | 'serving-issued' | 'serving-renewed' | 'old-ca-removed' | 'expired-ca-removed';

/** Keys of the kubernetes.io/tls Secret of mode self. Pods need only tls.crt and tls.key. */
export const SECRET_KEYS = {
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
  /** The trust bundle (every CA the webhook configurations trust), like cert-manager's ca.crt. */
  caBundle: 'ca.crt',
  signerCert: 'ca-signer.crt',
  signerKey: 'ca-signer.key',
} as const;

export const BUNDLE_CHANGED_ANNOTATION = 'tenant-guard.dev/ca-bundle-changed-at';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** One PEM certificate with LF line ends (node-forge writes CRLF), so bundles compare and join cleanly. */
export function normalizePem(pem: string): string {
  const lf = pem.replace(/\r\n/g, '\n').trim();
  return `${lf}\n`;
}

export function splitPemBundle(pem: string): string[] {
  return (pem.replace(/\r\n/g, '\n').match(PEM_CERT) ?? []).map(normalizePem);
}

export function joinPemBundle(certs: string[]): string {
  return certs.join('');
}

/** SHA-256 of a certificate's DER, lowercase hex without separators: what a TLS client sees. */
export function certificateSha256(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(pair: CertifiedKey): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}

/** The moment a certificate is due for renewal: `fraction` of its real lifetime (the back-dating excluded). */
export function renewalTime(cert: X509Certificate, fraction: number): Date {
  const from = new Date(cert.validFrom).getTime() + CLOCK_SKEW_MS;
  const to = new Date(cert.validTo).getTime();
  return new Date(from + fraction * Math.max(0, to - from));
}

// Subject names alone do not tell two CAs apart: check the signature.
function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function usableSigner(signer: CertifiedKey | undefined, now: Date): X509Certificate | undefined {
  const cert = parse(signer?.certPem);
  if (!cert || !signer || !cert.ca || !keyMatches(signer)) return undefined;
  return new Date(cert.validTo) > now ? cert : undefined;
}

function sameNames(cert: X509Certificate, s: SelfCertSettings): boolean {
  const want = [...s.dnsNames.map((d) => `DNS:${d}`), ...s.ipAddresses.map((ip) => `IP Address:${ip}`)].sort();
  const have = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((x) => x)
    .sort();
  return want.length === have.length && want.every((w, i) => w === have[i]);
}

export interface RotationDeps {
  createCA(commonName: string, lifetimeMs: number, now: Date): CertifiedKey;
  createServing(ca: CertifiedKey, s: SelfCertSettings, lifetimeMs: number, now: Date): CertifiedKey;
}

export const forgeDeps: RotationDeps = {
  createCA: (commonName, lifetimeMs, now) => createCertificateAuthority({ commonName, days: 1, lifetimeMs, now }),
  createServing: (ca, s, lifetimeMs, now) => createServingCertificate({ ca, dnsNames: s.dnsNames, ipAddresses: s.ipAddresses, days: 1, lifetimeMs, now }),
};

/**
 * The next state of the Secret. `reports` are the live replicas' reports
 * (expired ones already left out by the caller).
 */
export function planRotation(
  current: SelfCertState,
  reports: ServingReport[],
  now: Date,
  s: SelfCertSettings,
  deps: RotationDeps = forgeDeps,
): RotationPlan {
  const actions: RotationAction[] = [];
  const wake: number[] = [];
  let waitingFor: string | undefined;
  let signer = current.signer;
  let bundle = [...current.bundle];
  let bundleChangedAt = current.bundleChangedAt;
  let serving = current.serving;

  // Expired CAs help nobody and would make the bundle grow forever.
  const unexpired = bundle.filter((pem) => {
    const c = parse(pem);
    return c !== undefined && new Date(c.validTo) > now;
  });
  if (unexpired.length !== bundle.length) {
    bundle = unexpired;
    actions.push('expired-ca-removed');
  }

  // 1. The signer: created when missing or unusable, rolled when due.
  let signerCert = usableSigner(signer, now);
  if (!signerCert || now >= renewalTime(signerCert, s.renewFraction)) {
    actions.push(signerCert ? 'ca-rotated' : 'ca-created');
    // A distinct subject per CA, so operators (and chain builders) tell the old CA from the new one.
    signer = deps.createCA(`${s.caCommonName} ${now.toISOString()}`, s.caLifetimeMs, now);
    signerCert = new X509Certificate(signer.certPem);
    bundle.push(normalizePem(signer.certPem));
    bundleChangedAt = now;
  } else if (!bundle.some((pem) => parse(pem)?.fingerprint256 === signerCert!.fingerprint256)) {
    // Someone edited the bundle: the signer must be trusted before it signs what is served.
    bundle.push(normalizePem(signer!.certPem));
    bundleChangedAt = now;
  }
  wake.push(renewalTime(signerCert, s.renewFraction).getTime());

  // 2. The serving certificate.
  const servingCert = parse(serving?.certPem);
  const servingUsable = !!servingCert && !!serving && keyMatches(serving) && new Date(servingCert.validTo) > now && sameNames(servingCert, s);
  const signedBySigner = !!servingCert && signedBy(servingCert, signerCert);
  const servingDue = !servingUsable || now >= renewalTime(servingCert!, s.renewFraction);
  const settledAt = (bundleChangedAt?.getTime() ?? 0) + s.settleMs;
  // Nothing usable is served: no client can be broken by issuing at once.
  const issueNow = !servingUsable || ((!signedBySigner || servingDue) && now.getTime() >= settledAt);
  if (issueNow) {
    // Never outlive the CA: a serving certificate valid after its CA expired would fail verification early.
    const lifetime = Math.min(s.servingLifetimeMs, new Date(signerCert.validTo).getTime() - now.getTime());
    serving = deps.createServing(signer!, s, lifetime, now);
    actions.push(servingUsable || servingCert ? 'serving-renewed' : 'serving-issued');
  } else if (!signedBySigner || servingDue) {
    wake.push(settledAt);
    waitingFor = 'the new CA to settle in caBundle';
  }
  const served = new X509Certificate(serving!.certPem);
  // A due certificate waiting for the settle wakes at the settle, not now and again.
  if (issueNow || !servingDue) wake.push(renewalTime(served, s.renewFraction).getTime());

  // 3. Old CAs leave the bundle once every replica serves a certificate of the signer.
  // "Of the signer", not "the newest": with short lifetimes a renewal can
  // happen before every replica reported the previous one.
  if (bundle.length > 1 && signedBy(served, signerCert)) {
    // From when the signer started signing, not from the newest certificate: renewals must not restart the wait.
    const issuedAt = settledAt;
    const behind = reports.filter((r) => {
      const c = parse(r.certPem);
      return !c || !signedBy(c, signerCert!);
    }).map((r) => r.replica);
    if (reports.length === 0) waitingFor = 'a replica to report the certificate it serves';
    else if (behind.length > 0) waitingFor = `replicas still serving a certificate of the old CA: ${behind.sort().join(', ')}`;
    else if (now.getTime() < issuedAt + s.overlapMs) {
      waitingFor = 'the minimum overlap';
      wake.push(issuedAt + s.overlapMs);
    } else {
      bundle = [normalizePem(signer!.certPem)];
      actions.push('old-ca-removed');
      waitingFor = undefined;
    }
  }

  return {
    state: { signer, bundle, serving, ...(bundleChangedAt ? { bundleChangedAt } : {}) },
    actions,
    wakeAt: new Date(Math.max(now.getTime(), Math.min(...wake))),
    ...(waitingFor ? { waitingFor } : {}),
  };
}

/** The base64 caBundle of the webhook configurations. */
export function caBundleOf(state: SelfCertState): string {
  return Buffer.from(joinPemBundle(state.bundle), 'utf8').toString('base64');
}

/** Secret data (base64) and the annotation for a state. */
export function secretDataOf(state: SelfCertState): { data: Record<string, string>; annotations: Record<string, string> } {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    data: {
      [SECRET_KEYS.tlsCert]: b64(state.serving?.certPem ?? ''),
      [SECRET_KEYS.tlsKey]: b64(state.serving?.keyPem ?? ''),
      [SECRET_KEYS.caBundle]: b64(joinPemBundle(state.bundle)),
      [SECRET_KEYS.signerCert]: b64(state.signer?.certPem ?? ''),
      [SECRET_KEYS.signerKey]: b64(state.signer?.keyPem ?? ''),
    },
    annotations: state.bundleChangedAt ? { [BUNDLE_CHANGED_ANNOTATION]: state.bundleChangedAt.toISOString() } : {},
  };
}

/** The state of a Secret as read from the API (missing keys: nothing there). */
export function stateOfSecret(secret: { data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } } | undefined): SelfCertState {
  const d = secret?.data ?? {};
  const text = (k: string) => (d[k] ? Buffer.from(d[k], 'base64').toString('utf8') : '');
  const pair = (c: string, k: string): CertifiedKey | undefined => (text(c) && text(k) ? { certPem: text(c), keyPem: text(k) } : undefined);
  const changed = secret?.metadata?.annotations?.[BUNDLE_CHANGED_ANNOTATION];
  const at = changed ? new Date(changed) : undefined;
  const signer = pair(SECRET_KEYS.signerCert, SECRET_KEYS.signerKey);
  const serving = pair(SECRET_KEYS.tlsCert, SECRET_KEYS.tlsKey);
  return {
    bundle: splitPemBundle(text(SECRET_KEYS.caBundle)),
    ...(signer ? { signer } : {}),
    ...(serving ? { serving } : {}),
    ...(at && !Number.isNaN(at.getTime()) ? { bundleChangedAt: at } : {}),
  };
}
