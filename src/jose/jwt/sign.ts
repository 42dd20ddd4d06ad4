import { type KeyObject, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import { encodeSegment, headerSegmentOf, signSegments } from '../jws/sign.js';
import { algSpec, checkKey } from '../lib/alg.js';
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
  const spec = algSpec(opts.alg, undefined);
  checkKey(spec.alg, spec, key, 'sign');
  return signSegments(spec, key, jwtHeaderSegment(opts), encodeSegment(JSON.stringify(out)));
}

// The header of a JWT is {alg, kid?, typ}: its segment is cached per (alg, kid, typ), so a signer with one
// key does not re-serialise it per token. Bounded; headers hold no secrets.
const jwtHeaders = new Map<string, string>();
const JWT_HEADER_CACHE_MAX = 64;

function jwtHeaderSegment(opts: JwtSignOptions): string {
  const typ = opts.typ ?? 'JWT';
  const kid = opts.kid;
  // Unambiguous: alg is a checked JwsAlg (no '.'), typ is length-prefixed, kid absent and kid '' differ.
  const cacheKey = `${opts.alg}.${typ.length}.${typ}${kid === undefined ? 'u' : `k${kid}`}`;
  let seg = jwtHeaders.get(cacheKey);
  if (seg === undefined) {
    const header = kid === undefined ? { alg: opts.alg, typ } : { alg: opts.alg, kid, typ };
    seg = headerSegmentOf(JSON.stringify(header));
    if (jwtHeaders.size >= JWT_HEADER_CACHE_MAX) jwtHeaders.delete(jwtHeaders.keys().next().value as string);
    jwtHeaders.set(cacheKey, seg);
  }
  return seg;
}
