import { resolve } from 'node:path';
import { caBundle, certPaths, existingFiles, readPem, writeCertificateSet, type CertificateSet } from '../certs/files.js';
import { createCertificateAuthority, createServingCertificate, MAX_DAYS, validateSubjectNames } from '../certs/generate.js';
import { describeError, isTenantGuardError } from '../errors.js';
import { parseFlags } from './args.js';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './io.js';

const USAGE = `usage: tenant-guard certs --out DIR (--dns NAME | --ip ADDR)... [flags]

Generate a CA and a serving certificate for the webhook: DIR/ca.crt,
DIR/ca.key, DIR/tls.crt and DIR/tls.key (keys mode 0600).

flags:
  --out DIR            directory to write into (created if missing)
  --dns NAME           DNS subject alternative name (repeatable), e.g.
                       tenant-guard.tenant-guard.svc
  --ip ADDR            IP subject alternative name (repeatable)
  --days N             validity of the serving certificate (default 365)
  --ca-days N          validity of a new CA (default 3650)
  --ca-cert FILE       sign with this existing CA instead of creating one
  --ca-key FILE        the key of --ca-cert (ca.key is then not written)
  --force              replace existing files in DIR
  --print-ca-bundle    print the base64 caBundle for a webhook configuration
                       on stdout (the summary then goes to stderr)
  -h, --help           show this help
`;

function usageError(io: CliIO, message: string): number {
  io.stderr.write(`TG_ERR_USAGE: ${message}\nsee 'tenant-guard certs --help'\n`);
  return EXIT_USAGE;
}

function parseDays(value: string | undefined, fallback: number, flag: string): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_DAYS) return `${flag} must be a whole number of days between 1 and ${MAX_DAYS}, got "${value}"`;
  return n;
}

export async function runCerts(argv: string[], io: CliIO): Promise<number> {
  let values;
  try {
    values = parseFlags(argv, {
      out: { type: 'string' },
      dns: { type: 'string', multiple: true },
      ip: { type: 'string', multiple: true },
      days: { type: 'string' },
      'ca-days': { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      force: { type: 'boolean' },
      'print-ca-bundle': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (!values.out) return usageError(io, '--out DIR is required');
  if (!!values['ca-cert'] !== !!values['ca-key']) return usageError(io, '--ca-cert and --ca-key go together');
  const days = parseDays(values.days, 365, '--days');
  const caDays = parseDays(values['ca-days'], MAX_DAYS, '--ca-days');
  if (typeof days === 'string') return usageError(io, days);
  if (typeof caDays === 'string') return usageError(io, caDays);
  const dnsNames = values.dns;
  const ipAddresses = values.ip;
  const out = resolve(io.cwd, values.out);

  try {
    validateSubjectNames(dnsNames, ipAddresses);
    const ca =
      values['ca-cert'] && values['ca-key']
        ? {
            certPem: readPem(resolve(io.cwd, values['ca-cert']), 'CA certificate'),
            keyPem: readPem(resolve(io.cwd, values['ca-key']), 'CA key'),
          }
        : createCertificateAuthority({ commonName: 'tenant-guard CA', days: caDays });
    const serving = createServingCertificate({ ca, dnsNames, ipAddresses, days });
    // A reused CA's key stays where it is: one copy of a signing key fewer.
    const set: CertificateSet = values['ca-cert'] ? { ca: { certPem: ca.certPem }, serving } : { ca, serving };
    const clobbered = existingFiles(out, set);
    if (clobbered.length > 0 && !values.force) {
      io.stderr.write(`TG_ERR_CERTS: ${clobbered.join(', ')} already exist; pass --force to replace them\n`);
      return EXIT_USAGE;
    }
    const written = writeCertificateSet(out, set);
    const summary = values['print-ca-bundle'] ? io.stderr : io.stdout;
    const sans = [...dnsNames.map((d) => `DNS:${d}`), ...ipAddresses.map((i) => `IP:${i}`)].join(', ');
    summary.write(`serving certificate for ${sans}, valid ${days} days\n${written.map((f) => `wrote ${f}\n`).join('')}`);
    if (values['print-ca-bundle']) io.stdout.write(`${caBundle(readPem(certPaths(out).caCert, 'CA certificate'))}\n`);
    return EXIT_OK;
  } catch (e) {
    io.stderr.write(`${isTenantGuardError(e) ? e.toString() : `TG_ERR_CERTS: ${describeError(e)}`}\n`);
    return EXIT_USAGE;
  }
}
