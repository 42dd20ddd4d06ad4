import { timingSafeEqual } from 'node:crypto';
import { MtlsBindingMismatchError, MtlsCertificateMissingError } from '../errors/dpop.js';
import { type CertificateInput, certificateThumbprint } from './thumbprint.js';

/** RFC 8705 3: the token's `cnf.x5t#S256` must be the thumbprint of the presented client certificate. */
export function checkCertificateBinding(
  claims: Record<string, unknown>,
  peerCert: CertificateInput | Record<string, never> | undefined | null,
): void {
  const cnf = claims.cnf as Record<string, unknown> | undefined;
  const want = cnf && typeof cnf === 'object' ? cnf['x5t#S256'] : undefined;
  if (typeof want !== 'string')
    throw new MtlsBindingMismatchError('the access token is not certificate-bound (no cnf.x5t#S256)');
  // Node returns {} from getPeerCertificate() when the client sent no certificate.
  if (
    !peerCert ||
    (typeof peerCert === 'object' && !(peerCert instanceof Uint8Array) && !('raw' in peerCert))
  ) {
    throw new MtlsCertificateMissingError('a TLS client certificate is required for this token');
  }
  const got = Buffer.from(certificateThumbprint(peerCert as CertificateInput));
  const w = Buffer.from(want);
  if (got.length !== w.length || !timingSafeEqual(got, w)) {
    throw new MtlsBindingMismatchError('the access token is bound to another certificate');
  }
}

/**
 * For the authority's /token: the `cnf` to put in a token issued to a client that authenticated with a
 * TLS client certificate (RFC 8705 3.1), or undefined when the connection carried none.
 */
export function mtlsBindingFromRequest(request: {
  raw: { socket: unknown };
}): { 'x5t#S256': string } | undefined {
  const sock = request.raw.socket as { getPeerCertificate?: (d: boolean) => { raw?: Buffer } };
  const c = sock.getPeerCertificate?.(true);
  if (!c?.raw) return undefined;
  return { 'x5t#S256': certificateThumbprint(c as { raw: Buffer }) };
}
