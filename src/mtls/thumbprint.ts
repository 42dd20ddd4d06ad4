import { createHash, X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../errors/base.js';

/** A certificate as Node hands it out: an X509Certificate, a TLS PeerCertificate (`raw`), DER bytes or PEM. */
export type CertificateInput = X509Certificate | { raw: Buffer } | Uint8Array | string;

/** RFC 8705 3.1: `x5t#S256` = base64url(SHA-256(DER certificate)). */
export function certificateThumbprint(cert: CertificateInput): string {
  let der: Uint8Array;
  if (cert instanceof X509Certificate) der = cert.raw;
  else if (typeof cert === 'string') der = new X509Certificate(cert).raw;
  else if (cert instanceof Uint8Array) der = cert;
  else if (cert && Buffer.isBuffer((cert as { raw?: unknown }).raw)) der = (cert as { raw: Buffer }).raw;
  else throw new InvalidArgumentError('expected a certificate');
  return createHash('sha256').update(der).digest('base64url');
}
