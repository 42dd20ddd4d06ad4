import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { AuthoritySignatureError } from '../errors/server.js';
import { decodeCompact, verifyDecoded } from '../status-list/jws.js';
import type { AuthorityDb } from './db.js';

/** RFC 7523 3: the longest assertion lifetime this authority accepts (exp - iat, or exp - now without iat). */
export const MAX_ASSERTION_LIFETIME = 300;
/** Clock skew tolerated on exp/nbf/iat of assertions. */
export const ASSERTION_CLOCK_TOLERANCE = 30;
const ALGS = ['ES256', 'EdDSA'] as const;

export type AssertionFailure =
  | 'malformed'
  | 'unknown_client'
  | 'disabled_client'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_exp'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime_too_long'
  | 'missing_jti'
  | 'replayed';

/** Why an assertion was refused: the grant turns this into invalid_grant or invalid_client. */
export class AssertionRejected extends Error {
  constructor(
    readonly reason: AssertionFailure,
    message: string,
  ) {
    super(message);
  }
}

// Keyed by the stored JWK text: content-addressed, so a key removed or replaced by the CLI (another
// process) is never served from here; importing a KeyObject per request would cost more than the verify.
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 1024;

function clientKey(jwkText: string): KeyObject {
  let k = keyCache.get(jwkText);
  if (!k) {
    k = createPublicKey({ key: JSON.parse(jwkText), format: 'jwk' });
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(jwkText, k);
  }
  return k;
}

/**
 * Verifies an RFC 7523 assertion (section 3): iss = sub = a registered, enabled client; signed by one of that
 * client's registered keys (selected by kid, never from the token); aud = one of `audiences`; exp required and
 * in the future; lifetime at most 5 minutes; jti required and never seen before (replay store).
 */
export function verifyClientAssertion(
  assertion: string,
  opts: { db: AuthorityDb; audiences: readonly string[]; now: number; clientId?: string; replayNs: string },
): { clientId: string; claims: Record<string, unknown> } {
  let d: ReturnType<typeof decodeCompact>;
  try {
    d = decodeCompact(assertion, 16 * 1024);
  } catch {
    throw new AssertionRejected('malformed', 'the assertion is not a compact JWS');
  }
  const c = d.payload;
  if (typeof c.iss !== 'string' || c.iss.length === 0)
    throw new AssertionRejected('wrong_issuer', 'the assertion has no iss');
  // RFC 7523 3 B / 2.2: for client authentication sub must be the client_id; a service account asserts itself
  if (c.sub !== c.iss) throw new AssertionRejected('wrong_issuer', 'the assertion sub must equal iss');
  if (opts.clientId !== undefined && c.iss !== opts.clientId)
    throw new AssertionRejected('wrong_issuer', 'the assertion iss is not the client_id');
  const client = opts.db.getClientForAuth(c.iss);
  if (!client) throw new AssertionRejected('unknown_client', 'the client is not registered');
  if (client.disabled) throw new AssertionRejected('disabled_client', 'the client is disabled');
  const kid = d.header.kid;
  const candidates = client.keys.filter((k) => kid === undefined || k.kid === kid);
  if (candidates.length !== 1)
    throw new AssertionRejected('bad_signature', 'no single registered key of the client matches the kid');
  try {
    verifyDecoded(d, clientKey(candidates[0]!.jwk), ALGS);
  } catch (e) {
    if (e instanceof AuthoritySignatureError) throw new AssertionRejected('bad_signature', e.message);
    throw e;
  }
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!aud.some((a) => typeof a === 'string' && opts.audiences.includes(a)))
    throw new AssertionRejected('wrong_audience', 'the assertion aud must be this token endpoint or issuer');
  if (typeof c.exp !== 'number') throw new AssertionRejected('missing_exp', 'the assertion has no exp');
  const now = opts.now;
  if (now >= c.exp + ASSERTION_CLOCK_TOLERANCE)
    throw new AssertionRejected('expired', 'the assertion has expired');
  if (typeof c.nbf === 'number' && now + ASSERTION_CLOCK_TOLERANCE < c.nbf)
    throw new AssertionRejected('not_yet_valid', 'the assertion is not yet valid');
  const start = typeof c.iat === 'number' ? Math.min(c.iat, now) : now;
  if (typeof c.iat === 'number' && c.iat > now + ASSERTION_CLOCK_TOLERANCE)
    throw new AssertionRejected('not_yet_valid', 'the assertion iat is in the future');
  if (c.exp - start > MAX_ASSERTION_LIFETIME)
    throw new AssertionRejected(
      'lifetime_too_long',
      `the assertion lifetime exceeds ${MAX_ASSERTION_LIFETIME} s`,
    );
  if (typeof c.jti !== 'string' || c.jti.length === 0 || c.jti.length > 256)
    throw new AssertionRejected('missing_jti', 'the assertion has no jti');
  // RFC 7523 3 item 7: the jti is remembered until the assertion could no longer be accepted anyway
  if (
    !opts.db.consumeOnce(
      `${opts.replayNs}:${c.iss}`,
      c.jti,
      Math.ceil(c.exp + ASSERTION_CLOCK_TOLERANCE),
      now,
    )
  )
    throw new AssertionRejected('replayed', 'the assertion jti was already used');
  return { clientId: c.iss, claims: c };
}
