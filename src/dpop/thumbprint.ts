import { createHash } from 'node:crypto';

// RFC 7638 3.2: only the required members, lexicographic order, no whitespace.
const REQUIRED: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK: the DPoP `jkt` (RFC 9449 6.1). */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = REQUIRED[jwk.kty as string];
  if (!members) throw new TypeError('unsupported kty for a thumbprint');
  const o: Record<string, unknown> = {};
  for (const m of members) {
    if (typeof jwk[m] !== 'string') throw new TypeError(`JWK member ${m} missing`);
    o[m] = jwk[m];
  }
  return createHash('sha256').update(JSON.stringify(o)).digest('base64url');
}
