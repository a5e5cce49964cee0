import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TenantGuardError, describeFsError } from '../errors.js';
import type { CertifiedKey } from './generate.js';

/**
 * File names inside a certificates directory. tls.crt/tls.key are the names
 * of a kubernetes.io/tls Secret, so the same directory layout works for a
 * Secret volume and for local development.
 */
export const CERT_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
} as const;

const PUBLIC_MODE = 0o644;
const PRIVATE_MODE = 0o600;

/**
 * Write through a temporary file and a rename, so a server watching the
 * directory never reads half a certificate. The mode is set at creation, so a
 * key is never readable by others, not even for a moment.
 */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new TenantGuardError('TG_ERR_CERTS', `cannot write ${path}: ${describeFsError(e)}`, { cause: e });
  }
}

export function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CERTS', `cannot read ${what} ${path}: ${describeFsError(e)}`);
  }
}

export interface CertificateSet {
  ca: CertifiedKey | { certPem: string; keyPem?: undefined };
  serving: CertifiedKey;
}

/** Paths of the files of a certificates directory. */
export function certPaths(dir: string): Record<keyof typeof CERT_FILES, string> {
  return {
    caCert: join(dir, CERT_FILES.caCert),
    caKey: join(dir, CERT_FILES.caKey),
    tlsCert: join(dir, CERT_FILES.tlsCert),
    tlsKey: join(dir, CERT_FILES.tlsKey),
  };
}

/** Files of `dir` that writing `set` would replace. */
export function existingFiles(dir: string, set: CertificateSet): string[] {
  const p = certPaths(dir);
  const targets = [p.caCert, p.tlsCert, p.tlsKey, ...(set.ca.keyPem ? [p.caKey] : [])];
  return targets.filter((f) => existsSync(f));
}

/**
 * Write a CA and a serving certificate into `dir`: certificates 0644, keys
 * 0600. The serving pair is written last, key before certificate, so a
 * watcher that reacts to tls.crt sees a complete pair.
 */
export function writeCertificateSet(dir: string, set: CertificateSet): string[] {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new TenantGuardError('TG_ERR_CERTS', `cannot create ${dir}: ${describeFsError(e)}`);
  }
  const p = certPaths(dir);
  const written: string[] = [];
  writeFileAtomic(p.caCert, set.ca.certPem, PUBLIC_MODE);
  written.push(p.caCert);
  if (set.ca.keyPem) {
    writeFileAtomic(p.caKey, set.ca.keyPem, PRIVATE_MODE);
    written.push(p.caKey);
  }
  writeFileAtomic(p.tlsKey, set.serving.keyPem, PRIVATE_MODE);
  writeFileAtomic(p.tlsCert, set.serving.certPem, PUBLIC_MODE);
  written.push(p.tlsKey, p.tlsCert);
  return written;
}

/** The `caBundle` of a webhook configuration: the CA certificate PEM, base64. */
export function caBundle(caCertPem: string): string {
  return Buffer.from(caCertPem, 'utf8').toString('base64');
}
