import { createHash, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import {
  DpopAlgInvalidError,
  DpopAthMismatchError,
  DpopHtmMismatchError,
  DpopHtuMismatchError,
  DpopIatInvalidError,
  DpopJwkInvalidError,
  DpopKeyMismatchError,
  DpopNonceRequiredError,
  DpopProofInvalidError,
  DpopReplayedError,
} from '../errors/dpop.js';
import type { ReplayStore } from '../stores/types.js';
import { normalizeHtu } from './htu.js';
import {
  type AsymmetricAlg,
  importPublicJwk,
  isAsymmetricAlg,
  type ParsedJws,
  parseCompact,
  parsePayloadObject,
  verifySignature,
} from './jws.js';
import type { DpopNonceManager } from './nonce.js';
import { jwkThumbprint } from './thumbprint.js';

export const DPOP_MAX_PROOF_SIZE = 8192;
const DEFAULT_ALGS: AsymmetricAlg[] = ['ES256', 'EdDSA', 'Ed25519', 'ES384', 'PS256', 'RS256'];

export interface VerifyDpopProofOptions {
  htm: string;
  htu: string;
  /** When given, the proof must carry `ath` = base64url(SHA-256(accessToken)). */
  accessToken?: string;
  /** The token's `cnf.jkt`: the proof's key must have this thumbprint. */
  expectedJkt?: string;
  /** A fixed nonce the proof must carry, or a manager whose current/previous nonce it must carry. */
  nonce?: string | DpopNonceManager;
  /** Accepted age of `iat` in seconds (default 60). */
  iatWindow?: number;
  /** Accepted clock skew in seconds, both directions (default 5). */
  leeway?: number;
  algorithms?: AsymmetricAlg[];
  /** jti replay cache (memory, SQLite, Redis). Required: without it a captured proof replays for the whole window. */
  replay: ReplayStore;
  clock?: Clock;
}

export interface VerifiedDpopProof {
  jkt: string;
  jwk: Record<string, unknown>;
  claims: { jti: string; htm: string; htu: string; iat: number; ath?: string; nonce?: string } & Record<
    string,
    unknown
  >;
}

const KEY_CACHE_SIZE = 1024;
const keyCache = new Map<string, { key: KeyObject; jkt: string }>();

const invalid = (why: string) => new DpopProofInvalidError(`invalid DPoP proof: ${why}`);

function ctEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** RFC 9449 4.3: every check of a DPoP proof, in the order that never consumes a jti for an invalid proof. */
export async function verifyDpopProof(proof: string, o: VerifyDpopProofOptions): Promise<VerifiedDpopProof> {
  if (!o || typeof o.htm !== 'string' || typeof o.htu !== 'string' || !o.replay) {
    throw new InvalidArgumentError('htm, htu and a replay store are required');
  }
  let p: ParsedJws;
  try {
    p = parseCompact(proof, DPOP_MAX_PROOF_SIZE);
  } catch {
    throw invalid('not a compact JWS within 8 KiB');
  }
  const h = p.header;
  // RFC 9449 4.3 checks 4-6: exactly this typ, an asymmetric alg (no none, no HMAC), a public jwk only.
  if (h.typ !== 'dpop+jwt') throw invalid('typ must be dpop+jwt');
  const algs = o.algorithms ?? DEFAULT_ALGS;
  if (!isAsymmetricAlg(h.alg) || !algs.includes(h.alg))
    throw new DpopAlgInvalidError(
      'invalid DPoP proof: alg must be an accepted asymmetric algorithm (never none or a MAC)',
    );
  if (h.crit !== undefined) throw invalid('unsupported crit');
  const alg = h.alg;
  // A client reuses one key for many proofs: the imported key and its thumbprint are cached by the exact
  // protected-header segment (same bytes => same alg and jwk), after the checks above passed.
  const seg = proof.slice(0, proof.indexOf('.'));
  let cached = keyCache.get(seg);
  if (!cached) {
    try {
      const k = importPublicJwk(h.jwk, alg);
      cached = { key: k, jkt: jwkThumbprint(h.jwk as Record<string, unknown>) };
    } catch {
      throw new DpopJwkInvalidError(
        'invalid DPoP proof: jwk must be a public key matching alg (no private or symmetric members)',
      );
    }
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
    keyCache.set(seg, cached);
  }
  const key = cached.key;
  let ok: boolean;
  try {
    ok = verifySignature(alg, key, p);
  } catch {
    ok = false;
  }
  if (!ok) throw invalid('signature does not verify with the embedded key');
  let claims: VerifiedDpopProof['claims'];
  try {
    claims = parsePayloadObject(p.payload) as VerifiedDpopProof['claims'];
  } catch (e) {
    // a duplicate claim name gets the code of a duplicate header name (both DpopProofInvalidError)
    throw invalid(`payload ${(e as Error).message}`);
  }
  if (typeof claims.jti !== 'string' || claims.jti.length < 1 || claims.jti.length > 256)
    throw invalid('jti missing');
  if (typeof claims.htm !== 'string' || typeof claims.htu !== 'string') throw invalid('htm/htu missing');
  if (claims.htm !== o.htm) throw new DpopHtmMismatchError('the proof htm is not the request method');
  const want = normalizeHtu(o.htu);
  if (want === undefined) throw new InvalidArgumentError('htu option is not an absolute http(s) URI');
  if (normalizeHtu(claims.htu) !== want)
    throw new DpopHtuMismatchError('the proof htu is not the request URI');
  const now = (o.clock ?? systemClock)();
  const window = o.iatWindow ?? 60;
  const leeway = o.leeway ?? 5;
  if (
    typeof claims.iat !== 'number' ||
    !Number.isFinite(claims.iat) ||
    claims.iat > now + leeway ||
    claims.iat < now - window - leeway
  ) {
    throw new DpopIatInvalidError('the proof iat is outside the accepted window');
  }
  if (o.nonce !== undefined) {
    const good =
      typeof o.nonce === 'string'
        ? typeof claims.nonce === 'string' && ctEqual(claims.nonce, o.nonce)
        : o.nonce.isValid(claims.nonce);
    if (!good) throw new DpopNonceRequiredError('a fresh DPoP-Nonce is required');
  }
  if (o.accessToken !== undefined) {
    const ath = createHash('sha256').update(o.accessToken, 'ascii').digest('base64url');
    if (typeof claims.ath !== 'string' || !ctEqual(claims.ath, ath))
      throw new DpopAthMismatchError('the proof ath is missing or not the hash of the access token');
  }
  const jwk = h.jwk as Record<string, unknown>;
  const jkt = cached.jkt;
  if (o.expectedJkt !== undefined && !ctEqual(jkt, o.expectedJkt)) {
    throw new DpopKeyMismatchError('the access token is bound to another key');
  }
  // RFC 9449 11.1: remember the jti for as long as the proof would be accepted.
  const fresh = await o.replay.consumeOnce(
    'dpop',
    `${want} ${claims.jti}`,
    Math.ceil(claims.iat + window + 2 * leeway),
  );
  if (!fresh) throw new DpopReplayedError('the proof jti was already used');
  return { jkt, jwk, claims };
}
