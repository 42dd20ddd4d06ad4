import { type KeyObject, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import { signJws } from '../jws/sign.js';
import type { JwsAlg } from '../types.js';

export interface JwtSignOptions {
  alg: JwsAlg;
  kid?: string;
  typ?: string;
  /** Seconds from iat to exp. */
  expiresIn?: number;
  /** Unix seconds; default now. */
  iat?: number;
  notBefore?: number;
  issuer?: string;
  subject?: string;
  audience?: string | string[];
  /** true: a fresh 128-bit jti from the CSPRNG; a string: that jti. */
  jti?: boolean | string;
}

/** Signs a claims set as a compact JWT. Claims given in `claims` win over nothing; options fill the rest. */
export function signJwt(claims: Record<string, unknown>, key: KeyObject, opts: JwtSignOptions): string {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new InvalidArgumentError('claims must be an object');
  const iat = opts.iat ?? (typeof claims.iat === 'number' ? claims.iat : Math.floor(Date.now() / 1000));
  const out: Record<string, unknown> = { ...claims, iat };
  if (opts.issuer !== undefined) out.iss = opts.issuer;
  if (opts.subject !== undefined) out.sub = opts.subject;
  if (opts.audience !== undefined) out.aud = opts.audience;
  if (opts.notBefore !== undefined) out.nbf = opts.notBefore;
  if (opts.expiresIn !== undefined) {
    if (!Number.isFinite(opts.expiresIn) || opts.expiresIn <= 0)
      throw new InvalidArgumentError('expiresIn must be > 0');
    out.exp = iat + Math.floor(opts.expiresIn);
  }
  if (opts.jti === true) out.jti = randomBytes(16).toString('base64url');
  else if (typeof opts.jti === 'string') out.jti = opts.jti;
  const header: { alg: JwsAlg; kid?: string; typ?: string } = { alg: opts.alg };
  if (opts.kid !== undefined) header.kid = opts.kid;
  header.typ = opts.typ ?? 'JWT';
  return signJws(JSON.stringify(out), key, header);
}
