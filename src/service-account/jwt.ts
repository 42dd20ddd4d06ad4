import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { signJws } from '../jose/jws/sign.js';
import type { ServiceAccount } from './file.js';

/** Longest self-signed bearer JWT (the cloud providers' limit for self-signed service-account JWTs). */
export const MAX_SELF_SIGNED_LIFETIME = 3600;
/** RFC 7523 3 item 4 leaves the bound to the server; the offtoken authority accepts at most 5 minutes. */
export const MAX_ASSERTION_LIFETIME = 300;
/** Short by default so a server whose clock runs behind still measures it under its 5-minute cap. */
export const DEFAULT_ASSERTION_LIFETIME = 120;

interface TimeOptions {
  /** Lifetime in seconds. */
  lifetime?: number;
  /** Issue time in unix seconds (default: the clock). */
  now?: number;
  clock?: Clock;
}

function issuedAt(o: TimeOptions): number {
  const now = o.now ?? (o.clock ?? systemClock)();
  if (!Number.isFinite(now) || now < 0) throw new InvalidArgumentError('now must be unix seconds');
  return Math.floor(now);
}

function lifetimeOf(o: TimeOptions, dflt: number, max: number): number {
  const l = o.lifetime ?? dflt;
  if (!Number.isInteger(l) || l < 1 || l > max)
    throw new InvalidArgumentError(`lifetime must be an integer from 1 to ${max} seconds`);
  return l;
}

function sign(sa: ServiceAccount, claims: Record<string, unknown>): string {
  return signJws(JSON.stringify(claims), sa.privateKey, { alg: sa.alg, kid: sa.keyId, typ: 'JWT' });
}

function nonEmptyStrings(v: unknown, what: string): string[] {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
  if (
    list === undefined ||
    list.length === 0 ||
    list.length > 32 ||
    list.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 2048)
  )
    throw new InvalidArgumentError(`${what} must be a non-empty string or array of strings`);
  return list as string[];
}

/**
 * A self-signed JWT for direct bearer use (no token exchange): iss = sub = the client email (the client id
 * when the file has no email), kid = private_key_id, and either `aud` (the API it is for) or `scope` (space
 * separated). Lifetime at most 1 hour, default 1 hour.
 */
export function selfSignedJwt(
  sa: ServiceAccount,
  target: { audience: string | readonly string[] } | { scope: string | readonly string[] },
  opts: TimeOptions & { claims?: Record<string, unknown> } = {},
): string {
  const hasAud = typeof target === 'object' && target !== null && 'audience' in target;
  const hasScope = typeof target === 'object' && target !== null && 'scope' in target;
  if (hasAud === hasScope) throw new InvalidArgumentError('give exactly one of audience or scope');
  const iat = issuedAt(opts);
  const exp = iat + lifetimeOf(opts, MAX_SELF_SIGNED_LIFETIME, MAX_SELF_SIGNED_LIFETIME);
  const who = sa.clientEmail ?? sa.clientId;
  const fixed: Record<string, unknown> = { iss: who, sub: who };
  if (hasAud) {
    const aud = nonEmptyStrings((target as { audience: unknown }).audience, 'audience');
    fixed.aud = aud.length === 1 ? aud[0] : aud;
  } else {
    const scopes = nonEmptyStrings((target as { scope: unknown }).scope, 'scope');
    if (scopes.some((s) => /\s/.test(s))) throw new InvalidArgumentError('a scope has no whitespace');
    fixed.scope = scopes.join(' ');
  }
  fixed.iat = iat;
  fixed.exp = exp;
  const extra = opts.claims ?? {};
  for (const name of Object.keys(extra))
    if (name in fixed || name === 'aud' || name === 'scope')
      throw new InvalidArgumentError(`claims must not set ${name}: it is fixed by the service account`);
  return sign(sa, { ...fixed, ...extra });
}

/**
 * An RFC 7523 JWT bearer assertion (section 3): iss = sub = the client id, aud = the token endpoint, a
 * 128-bit jti from the CSPRNG (the server's replay key), iat and exp with a lifetime of at most 5 minutes
 * (default 2). Used as `assertion` (grant) or `client_assertion` (client authentication).
 */
export function jwtAssertion(sa: ServiceAccount, opts: TimeOptions & { tokenEndpoint: string }): string {
  const ep = opts?.tokenEndpoint;
  let url: URL | undefined;
  try {
    url = typeof ep === 'string' && ep.length <= 2048 ? new URL(ep) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new InvalidArgumentError('tokenEndpoint must be an absolute http(s) URL');
  const iat = issuedAt(opts);
  const exp = iat + lifetimeOf(opts, DEFAULT_ASSERTION_LIFETIME, MAX_ASSERTION_LIFETIME);
  return sign(sa, {
    iss: sa.clientId,
    sub: sa.clientId,
    aud: ep,
    iat,
    exp,
    jti: randomBytes(16).toString('base64url'),
  });
}
