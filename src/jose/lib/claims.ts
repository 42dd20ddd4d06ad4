import { InvalidArgumentError } from '../../errors/base.js';
import { JwtClaimInvalidError, JwtExpiredError, JwtInvalidError } from '../../errors/jose.js';
import type { JwsHeader, JwtPolicy } from '../types.js';

function normaliseTyp(t: string): string {
  const l = t.toLowerCase();
  return l.startsWith('application/') ? l.slice(12) : l;
}

function numeric(payload: Record<string, unknown>, name: string): number | undefined {
  const v = payload[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new JwtClaimInvalidError(`the ${name} claim must be a number`, name, 'invalid');
  return v;
}

function oneOf(value: unknown, expected: string | readonly string[]): boolean {
  return typeof expected === 'string' ? value === expected : expected.includes(value as string);
}

/** The RFC 7519 section 4.1 checks, in a fixed order so the first failure reported is stable. */
export function validateClaims(header: JwsHeader, payload: Record<string, unknown>, policy: JwtPolicy): void {
  if (policy.typ !== undefined) {
    if (typeof header.typ !== 'string' || normaliseTyp(header.typ) !== normaliseTyp(policy.typ))
      throw new JwtClaimInvalidError(`the typ header must be ${policy.typ}`, 'typ', 'mismatch');
  }
  const now = policy.now ?? (policy.clock ? policy.clock() : Date.now() / 1000);
  const tol = policy.clockTolerance ?? 0;
  // A NaN time or tolerance would make every comparison below false, i.e. accept expired tokens: fail closed.
  if (!Number.isFinite(now) || !(tol >= 0 && tol !== Number.POSITIVE_INFINITY))
    throw new InvalidArgumentError('now and clockTolerance must be finite numbers (tolerance >= 0)');
  if (policy.maxTokenAge !== undefined && !(policy.maxTokenAge >= 0 && Number.isFinite(policy.maxTokenAge)))
    throw new InvalidArgumentError('maxTokenAge must be a finite number of seconds >= 0');
  const required = policy.requiredClaims;
  if (required !== undefined)
    for (const name of required)
      if (payload[name] === undefined)
        throw new JwtClaimInvalidError(`the ${name} claim is required`, name, 'missing');
  if (policy.issuer !== undefined && !oneOf(payload.iss, policy.issuer))
    throw new JwtClaimInvalidError(
      'unexpected iss',
      'iss',
      payload.iss === undefined ? 'missing' : 'mismatch',
    );
  if (policy.subject !== undefined && payload.sub !== policy.subject)
    throw new JwtClaimInvalidError(
      'unexpected sub',
      'sub',
      payload.sub === undefined ? 'missing' : 'mismatch',
    );
  if (policy.audience !== undefined) {
    const aud = payload.aud;
    const expected = policy.audience;
    // A single-string aud is matched directly: no one-element array per token.
    let ok: boolean;
    if (typeof aud === 'string') ok = oneOf(aud, expected);
    else if (Array.isArray(aud)) ok = aud.some((a) => typeof a === 'string' && oneOf(a, expected));
    else throw new JwtClaimInvalidError('the aud claim is required', 'aud', 'missing');
    if (!ok) throw new JwtClaimInvalidError('the token is not for this audience', 'aud', 'mismatch');
  }
  const exp = numeric(payload, 'exp');
  const nbf = numeric(payload, 'nbf');
  const iat = numeric(payload, 'iat');
  if (exp === undefined && policy.requireExp)
    throw new JwtClaimInvalidError('the exp claim is required', 'exp', 'missing');
  // RFC 7519 4.1.4: the token must not be accepted on or after exp (plus the tolerance).
  if (exp !== undefined && now >= exp + tol)
    throw new JwtExpiredError('the token has expired', 'exp', 'expired');
  if (nbf !== undefined && nbf > now + tol)
    throw new JwtClaimInvalidError('the token is not valid yet', 'nbf', 'not_yet_valid');
  if (iat !== undefined && iat > now + tol)
    throw new JwtClaimInvalidError('the token was issued in the future', 'iat', 'in_future');
  if (policy.maxTokenAge !== undefined) {
    if (iat === undefined)
      throw new JwtClaimInvalidError('the iat claim is required for a maximum age', 'iat', 'missing');
    if (now - iat > policy.maxTokenAge + tol)
      throw new JwtExpiredError('the token is older than allowed', 'iat', 'too_old');
  }
}

export function ensureClaimsObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new JwtInvalidError('the payload is not a JSON object');
  return v as Record<string, unknown>;
}
