import type { KeyObject } from 'node:crypto';
import { JoseHeaderInvalidError, JwtInvalidError } from '../../errors/jose.js';
import { decodePayloadText, splitJws, verifyCompact } from '../jws/verify.js';
import { algSpec } from '../lib/alg.js';
import { validateClaims } from '../lib/claims.js';
import { validateCrit } from '../lib/header.js';
import { DEFAULT_MAX_DEPTH, parseJsonObject } from '../lib/json.js';
import { resolverOf } from '../lib/key_source.js';
import type { JwtKeySource, JwtPolicy, KeyResolver, VerifiedJwt } from '../types.js';

const payloadError = (reason: string) => new JwtInvalidError(`the payload ${reason}`);
// RFC 7519 4: a parser may reject duplicate claim names or keep the last; a strict verifier rejects them, so no
// two parsers can read different claims from one signed token. Same code as a duplicate header name.
const duplicateClaim = (reason: string) => new JoseHeaderInvalidError(`the payload ${reason}`);
const PAYLOAD_JSON = { maxDepth: DEFAULT_MAX_DEPTH, rejectDuplicates: true };

/**
 * Verifies a JWT synchronously: size checks, one header parse (cached), one signature check, one payload
 * decode and parse with a depth limit, then the policy's claim checks. Every failure is a typed OfftokenError.
 */
export function verifyJwt<P = Record<string, unknown>>(
  token: string,
  key: KeyObject | KeyResolver,
  policy: JwtPolicy,
): VerifiedJwt<P> {
  const { header, d1, d2 } = verifyCompact(token, key, policy);
  const claims = parseJsonObject(
    decodePayloadText(token, d1, d2),
    policy.maxDepth === undefined ? PAYLOAD_JSON : { maxDepth: policy.maxDepth, rejectDuplicates: true },
    payloadError,
    duplicateClaim,
  );
  validateClaims(header, claims, policy);
  return { header, payload: claims as P };
}

/**
 * The same, for any key source: a KeyObject, a resolver function (sync or async), or an object with a
 * `resolve` method - a RemoteJwks (fetched), LocalJwks or Keyring passed as it is. Anything else is
 * ERR_INVALID_ARGUMENT.
 */
export async function verifyJwtAsync<P = Record<string, unknown>>(
  token: string,
  source: JwtKeySource,
  policy: JwtPolicy,
): Promise<VerifiedJwt<P>> {
  const resolve = resolverOf(source);
  if (resolve === undefined) return verifyJwt<P>(token, source as KeyObject, policy);
  const { header } = splitJws(token, policy.maxTokenSize);
  // A header the verifier will refuse must not cost a key lookup: for a remote JWKS that would be a fetch.
  algSpec(header.alg, policy.algorithms);
  if (header.crit !== undefined) validateCrit(header, policy.crit);
  const k = await resolve(header);
  return verifyJwt<P>(token, k, policy);
}

/** Decodes without verifying anything - for display only (`offtoken jwt inspect`). */
export function decodeJwtUnverified(token: string): { header: Record<string, unknown>; payload: unknown } {
  const { header, d1, d2 } = splitJws(token);
  const text = Buffer.from(token.slice(d1 + 1, d2), 'base64url').toString('utf8');
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // a non-JSON payload is shown as text
  }
  return { header, payload };
}
