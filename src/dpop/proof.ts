import { createHash, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { type Clock, nowSeconds, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { algForKey, signCompact } from './jws.js';

export interface CreateDpopProofOptions {
  privateKey: KeyObject;
  /** The public JWK to embed; derived from `privateKey` when absent. Private members are never embedded. */
  publicJwk?: Record<string, unknown>;
  alg?: 'ES256' | 'EdDSA';
  htm: string;
  htu: string;
  /** The access token the proof accompanies: `ath` = base64url(SHA-256(token)) (RFC 9449 4.2). */
  accessToken?: string;
  nonce?: string;
  clock?: Clock;
}

/** RFC 9449 4.2: the `ath` value for an access token. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** Creates a DPoP proof JWT (`typ` `dpop+jwt`, embedded public `jwk`, CSPRNG `jti`, `iat`). */
export function createDpopProof(o: CreateDpopProofOptions): string {
  if (!o || typeof o.htm !== 'string' || typeof o.htu !== 'string')
    throw new InvalidArgumentError('htm and htu are required');
  const alg = o.alg ?? algForKey(o.privateKey);
  if (alg !== 'ES256' && alg !== 'EdDSA')
    throw new InvalidArgumentError('DPoP proofs are created with ES256 or EdDSA');
  const full =
    o.publicJwk ?? (createPublicKey(o.privateKey).export({ format: 'jwk' }) as Record<string, unknown>);
  const jwk: Record<string, unknown> =
    full.kty === 'EC'
      ? { kty: 'EC', crv: full.crv, x: full.x, y: full.y }
      : { kty: full.kty, crv: full.crv, x: full.x };
  const claims: Record<string, unknown> = {
    jti: randomBytes(16).toString('base64url'),
    htm: o.htm,
    htu: o.htu,
    iat: nowSeconds(o.clock ?? systemClock),
  };
  if (o.accessToken !== undefined) claims.ath = accessTokenHash(o.accessToken);
  if (o.nonce !== undefined) claims.nonce = o.nonce;
  return signCompact({ typ: 'dpop+jwt', alg, jwk }, JSON.stringify(claims), o.privateKey);
}
