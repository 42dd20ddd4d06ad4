import { DpopKeyMismatchError, DpopRequestInvalidError } from '../errors/dpop.js';
import type { VerifiedDpopProof, VerifyDpopProofOptions } from './verify.js';
import { verifyDpopProof } from './verify.js';

export interface VerifyDpopRequestOptions
  extends Omit<VerifyDpopProofOptions, 'htm' | 'htu' | 'accessToken' | 'expectedJkt'> {
  authorization: string | string[] | undefined;
  dpop: string | string[] | undefined;
  method: string;
  /** The absolute request URL as the client addressed it (scheme://host[:port]/path?query). */
  url: string;
  /** Verifies the access token (signature, iss, aud, exp) and returns its claims. */
  verifyAccessToken: (token: string) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface VerifiedDpopRequest {
  token: string;
  claims: Record<string, unknown>;
  proof: VerifiedDpopProof;
}

/** RFC 9449 7.1: `Authorization: DPoP <token>` plus exactly one `DPoP` proof bound to that token's `cnf.jkt`. */
export async function verifyDpopRequest(o: VerifyDpopRequestOptions): Promise<VerifiedDpopRequest> {
  if (
    typeof o.authorization !== 'string' ||
    !/^DPoP [A-Za-z0-9\-._~+/]+=*$/i.test(o.authorization) ||
    o.authorization.length > 16_384
  ) {
    throw new DpopRequestInvalidError('expected an Authorization: DPoP <token> header');
  }
  // RFC 9449 4.3 check 1: exactly one DPoP header.
  if (typeof o.dpop !== 'string') throw new DpopRequestInvalidError('expected exactly one DPoP header');
  const token = o.authorization.slice(5);
  const claims = await o.verifyAccessToken(token);
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string') {
    throw new DpopKeyMismatchError('the access token is not DPoP-bound (no cnf.jkt)');
  }
  const proof = await verifyDpopProof(o.dpop, {
    ...o,
    htm: o.method,
    htu: o.url,
    accessToken: token,
    expectedJkt: cnf.jkt,
  });
  return { token, claims, proof };
}
