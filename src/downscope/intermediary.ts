import { type KeyObject, randomBytes } from 'node:crypto';
import { type Clock, nowSeconds, systemClock } from '../clock.js';
import { algForKey, signCompact } from '../dpop/jws.js';
import { InvalidArgumentError } from '../errors/base.js';
import { sealDir } from './jwe.js';
import { type AccessRule, parseRules } from './rules.js';

export interface CreateIntermediaryOptions {
  /** The grant of the access token being exchanged. */
  sub: string;
  grant: AccessRule[];
  /** Unix seconds; never later than the exchanged token's exp (the authority passes it through). */
  exp: number;
  iss: string;
  aud?: string;
  /** The authority's signing key (asymmetric) and its kid. */
  signingKey: KeyObject;
  kid?: string;
  /** The AES-256 key shared with the resource servers, and its kid. */
  rsKey: KeyObject;
  rsKid: string;
  clock?: Clock;
}

export interface Intermediary {
  /** The intermediary token (JWS, typ `intermediary+jwt`). */
  token: string;
  /** The 32-byte session key, base64url: returned to the client only, over TLS. */
  sessionKey: string;
  exp: number;
}

/**
 * The authority's half of client-side downscoping: a signed token carrying the grant and the session key
 * sealed (JWE dir A256GCM) to the resource servers' key, plus the session key for the client.
 */
export function createIntermediary(o: CreateIntermediaryOptions): Intermediary {
  const grant = parseRules(o.grant, false);
  const now = nowSeconds(o.clock ?? systemClock);
  if (!Number.isInteger(o.exp) || o.exp <= now)
    throw new InvalidArgumentError('exp must be a future unix time');
  if (o.rsKey.type !== 'secret' || o.rsKey.symmetricKeySize !== 32)
    throw new InvalidArgumentError('rsKey must be a 256-bit secret key');
  const sk = randomBytes(32);
  const claims: Record<string, unknown> = {
    iss: o.iss,
    sub: o.sub,
    iat: now,
    exp: o.exp,
    jti: randomBytes(16).toString('base64url'),
    grant,
    sk: sealDir(sk, o.rsKey, { kid: o.rsKid, typ: 'session-key' }),
  };
  if (o.aud !== undefined) claims.aud = o.aud;
  const header: Record<string, unknown> = { alg: algForKey(o.signingKey), typ: 'intermediary+jwt' };
  if (o.kid !== undefined) header.kid = o.kid;
  return {
    token: signCompact(header, JSON.stringify(claims), o.signingKey),
    sessionKey: sk.toString('base64url'),
    exp: o.exp,
  };
}
