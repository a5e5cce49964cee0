import { isIP } from 'node:net';
import forge from 'node-forge';
import { TenantGuardError } from '../errors.js';

const { pki, md } = forge;

/** A certificate and its private key, both PEM. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface ServingCertificateRequest {
  ca: CertifiedKey;
  /** Subject alternative names. The API server verifies the webhook's SANs, never its CN (Go >= 1.15). */
  dnsNames: string[];
  ipAddresses: string[];
  days: number;
  /** Exact lifetime in milliseconds, overriding `days` (mode self: short-lived test certificates, a cap at the CA's expiry). */
  lifetimeMs?: number;
  /** The issuing moment (default: now); the rotation planner passes its own clock. */
  now?: Date;
}

// RSA 2048: the key type node-forge generates (through Node's native
// crypto.generateKeyPairSync when available), accepted by every API server.
const RSA_BITS = 2048;
// Back-date notBefore so a node whose clock lags a little still accepts a
// certificate generated a moment ago.
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const MAX_DAYS = 3650;

// RFC 1123 host names, optionally with one leading wildcard label.
const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;

export function randomSerial(): string {
  // 16 random bytes whose first is 0x40-0x7f: the DER integer is positive (RFC 5280 4.1.2.2) and minimally encoded.
  // Clearing only the first nibble left a first byte of 0x00 in 1 of 16 serials, and node-forge writes the hex as
  // is: "0000..." is an INTEGER with illegal padding, which OpenSSL 3 refuses to parse (1 certificate in ~1,000;
  // a CI run's self-rotation test met one).
  const bytes = forge.random.getBytesSync(16);
  const first = 0x40 | (bytes.charCodeAt(0) & 0x3f);
  return forge.util.bytesToHex(String.fromCharCode(first) + bytes.slice(1));
}

function validity(cert: forge.pki.Certificate, days: number, lifetimeMs?: number, at?: Date): void {
  const now = at?.getTime() ?? Date.now();
  if (lifetimeMs !== undefined) {
    if (!(lifetimeMs >= 1000) || lifetimeMs > MAX_DAYS * DAY_MS)
      throw new TenantGuardError('TG_ERR_CERTS', `a certificate lifetime must be between 1s and ${MAX_DAYS} days, got ${lifetimeMs} ms`);
    cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
    cert.validity.notAfter = new Date(now + lifetimeMs);
    return;
  }
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new TenantGuardError('TG_ERR_CERTS', `validity must be a whole number of days between 1 and ${MAX_DAYS}, got ${days}`);
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
}

export function validateSubjectNames(dnsNames: string[], ipAddresses: string[]): void {
  if (dnsNames.length === 0 && ipAddresses.length === 0)
    throw new TenantGuardError('TG_ERR_CERTS', 'a serving certificate needs at least one --dns name or --ip address');
  for (const d of dnsNames)
    if (d.length > 253 || !DNS_NAME.test(d)) throw new TenantGuardError('TG_ERR_CERTS', `"${d}" is not a valid DNS name`);
  for (const ip of ipAddresses) if (isIP(ip) === 0) throw new TenantGuardError('TG_ERR_CERTS', `"${ip}" is not an IPv4 or IPv6 address`);
}

/** A self-signed CA whose only job is to sign the webhook's serving certificate. */
export function createCertificateAuthority(opts: { commonName: string; days: number; lifetimeMs?: number; now?: Date }): CertifiedKey {
  const keys = pki.rsa.generateKeyPair({ bits: RSA_BITS });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, opts.days, opts.lifetimeMs, opts.now);
  const subject = [{ name: 'commonName', value: opts.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/** Parse a CA given by the user and check that the key belongs to it and that it may sign. */
export function parseCertificateAuthority(ca: CertifiedKey, source: string): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } {
  let cert: forge.pki.Certificate;
  let key: forge.pki.rsa.PrivateKey;
  try {
    cert = pki.certificateFromPem(ca.certPem);
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CERTS', `${source}: the CA certificate is not a PEM RSA certificate (${(e as Error).message})`);
  }
  try {
    key = pki.privateKeyFromPem(ca.keyPem);
  } catch {
    // The message of a failed key parse is not repeated: it might quote key material.
    throw new TenantGuardError('TG_ERR_CERTS', `${source}: the CA key is not a PEM RSA private key`);
  }
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  if (!pub.n || pub.n.compareTo(key.n) !== 0 || pub.e.compareTo(key.e) !== 0)
    throw new TenantGuardError('TG_ERR_CERTS', `${source}: the CA key does not belong to the CA certificate`);
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (!bc?.cA) throw new TenantGuardError('TG_ERR_CERTS', `${source}: the CA certificate is not a CA (basicConstraints cA is not set)`);
  return { cert, key };
}

/** A serving certificate for the webhook, signed by `ca`, with the requested SANs. */
export function createServingCertificate(req: ServingCertificateRequest): CertifiedKey {
  validateSubjectNames(req.dnsNames, req.ipAddresses);
  const ca = parseCertificateAuthority(req.ca, 'CA');
  const keys = pki.rsa.generateKeyPair({ bits: RSA_BITS });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, req.days, req.lifetimeMs, req.now);
  cert.setSubject([{ name: 'commonName', value: req.dnsNames[0] ?? req.ipAddresses[0]! }]);
  cert.setIssuer(ca.cert.subject.attributes);
  const caSki = ca.cert.generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [...req.dnsNames.map((value) => ({ type: 2, value })), ...req.ipAddresses.map((ip) => ({ type: 7, ip }))],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caSki },
  ]);
  cert.sign(ca.key, md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/**
 * A client certificate for the API server's calls to the webhook (serve
 * --client-ca): subject CN `commonName`, extKeyUsage clientAuth, signed by `ca`.
 */
export function createClientCertificate(req: { ca: CertifiedKey; commonName: string; days: number; now?: Date }): CertifiedKey {
  if (req.commonName.trim() === '') throw new TenantGuardError('TG_ERR_CERTS', 'a client certificate needs a common name');
  const ca = parseCertificateAuthority(req.ca, 'CA');
  const keys = pki.rsa.generateKeyPair({ bits: RSA_BITS });
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert, req.days, undefined, req.now);
  cert.setSubject([{ name: 'commonName', value: req.commonName }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}
