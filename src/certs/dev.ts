import { existsSync } from 'node:fs';
import { createCertificateAuthority, createServingCertificate, type CertifiedKey } from './generate.js';
import { certPaths, readPem, writeCertificateSet } from './files.js';

/** What `npm start` serves on: loopback only. */
export const DEV_DNS_NAMES = ['localhost'];
export const DEV_IP_ADDRESSES = ['127.0.0.1', '::1'];
export const DEV_DAYS = 365;
export const DEV_CA_NAME = 'tenant-guard development CA';

export interface DevCertificates {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** True when this call created the serving certificate. */
  generated: boolean;
}

/**
 * Make sure `dir` holds a serving pair for local development. An existing
 * tls.crt/tls.key is used as is; an existing CA (ca.crt + ca.key) is reused
 * so that a client that already trusts it keeps working.
 */
export function ensureDevCertificates(dir: string): DevCertificates {
  const p = certPaths(dir);
  const result = { certFile: p.tlsCert, keyFile: p.tlsKey, caFile: p.caCert };
  if (existsSync(p.tlsCert) && existsSync(p.tlsKey)) return { ...result, generated: false };
  let ca: CertifiedKey;
  if (existsSync(p.caCert) && existsSync(p.caKey)) {
    ca = { certPem: readPem(p.caCert, 'CA certificate'), keyPem: readPem(p.caKey, 'CA key') };
  } else {
    ca = createCertificateAuthority({ commonName: DEV_CA_NAME, days: DEV_DAYS });
  }
  const serving = createServingCertificate({ ca, dnsNames: DEV_DNS_NAMES, ipAddresses: DEV_IP_ADDRESSES, days: DEV_DAYS });
  writeCertificateSet(dir, { ca, serving });
  return { ...result, generated: true };
}
