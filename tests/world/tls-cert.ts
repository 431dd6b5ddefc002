/**
 * Throw-away self-signed certificates for HTTPS hosts in the simulated internet, made with the
 * system's `openssl` (Node cannot issue X.509 certificates by itself).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopbackAddress } from './loopback.js';

export interface SelfSignedCert {
  /** PEM private key (P-256). */
  key: string;
  /** PEM certificate, also usable as the CA to trust. */
  cert: string;
}

export interface SelfSignedCertOptions {
  /** @default ['localhost'] */
  dnsNames?: string[];
  /** Loopback addresses only. @default ['127.0.0.1'] */
  ipAddresses?: string[];
  /** @default 2 */
  days?: number;
}

/**
 * A fresh self-signed certificate for the given names and loopback addresses.
 * @throws Error if `openssl` is missing or fails, or an address is not loopback.
 */
export function selfSignedCert(options: SelfSignedCertOptions = {}): SelfSignedCert {
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ips = options.ipAddresses ?? ['127.0.0.1'];
  for (const ip of ips) assertLoopbackAddress(ip, 'certificate IP address');
  const san = [...dnsNames.map((d) => `DNS:${d}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-world-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', String(options.days ?? 2), '-subj', `/CN=${dnsNames[0] ?? 'vigil-world'}`,
      '-addext', `subjectAltName=${san}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
