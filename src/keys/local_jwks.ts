import type { KeyObject } from 'node:crypto';
import { InputTooLargeError } from '../errors/base.js';
import { JwksInvalidError, JwksMultipleMatchingKeysError, JwksNoMatchingKeyError } from '../errors/keys.js';
import { importJwk, ktyFor } from './jwk.js';
import { headerSelector, keyMatches } from './select.js';
import type { Jwk, Jwks, KeyAlg, KeySelector, OfftokenKey } from './types.js';

export const MAX_JWKS_KEYS = 100;

export interface LocalJwksOptions {
  /** Import `oct` (secret) keys too. Default true for a local file; a remote JWKS never allows them. */
  allowSecretKeys?: boolean;
}

/**
 * A JWKS imported once into KeyObjects; resolve() is synchronous for the verify hot path.
 *
 * A key with `alg` is bound to it. A key without `alg` (common in published sets) is bound lazily to the
 * header's alg, only when its kty/crv fits that alg: the verifier's allow-list and key check still apply,
 * so this never lets a token pick an algorithm the key cannot serve (RFC 8725 3.1).
 */
export class LocalJwks {
  readonly keys: readonly OfftokenKey[];
  readonly #unbound: readonly Jwk[];
  readonly #lazy = new Map<string, OfftokenKey | null>();

  constructor(jwks: Jwks, opts: LocalJwksOptions = {}) {
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys))
      throw new JwksInvalidError('not a JWKS');
    if (jwks.keys.length > MAX_JWKS_KEYS)
      throw new InputTooLargeError(`a JWKS may hold at most ${MAX_JWKS_KEYS} keys`);
    const allowSecret = opts.allowSecretKeys ?? true;
    const keys: OfftokenKey[] = [];
    const unbound: Jwk[] = [];
    for (const jwk of jwks.keys) {
      if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string') continue;
      if (jwk.kty === 'oct' && !allowSecret) continue;
      if (jwk.use !== undefined && jwk.use !== 'sig' && jwk.use !== 'enc') continue;
      if (jwk.alg === undefined) {
        if (jwk.kty !== 'oct') unbound.push(jwk);
        continue;
      }
      try {
        keys.push(importJwk(jwk, { alg: jwk.alg as KeyAlg, public: jwk.kty !== 'oct' }));
      } catch {
        // An unusable key is skipped so one bad entry does not take the whole set down.
      }
    }
    this.keys = keys;
    this.#unbound = unbound;
  }

  /** Selects exactly one key by kid/alg/use (see selectKey). */
  resolveKey(sel: KeySelector): OfftokenKey {
    const bound = this.keys.filter((k) => keyMatches(k, sel));
    const late = this.#lateBound(sel);
    if (late !== undefined) bound.push(late);
    if (bound.length > 1)
      throw new JwksMultipleMatchingKeysError('several keys match; the token must carry a kid');
    if (bound.length === 0) throw new JwksNoMatchingKeyError('no key in the JWKS matches the token header');
    return bound[0] as OfftokenKey;
  }

  /** The KeyResolver for verifyJws/verifyJwt: selection by the header's kid and alg only. */
  resolve(header: KeySelector): KeyObject {
    const k = this.resolveKey(headerSelector(header));
    return (k.publicKey ?? k.secretKey) as KeyObject;
  }

  /** Whether any key (bound or not) carries this kid: lets a remote source tell "unknown kid" apart. */
  hasKid(kid: string): boolean {
    return this.keys.some((k) => k.kid === kid) || this.#unbound.some((j) => j.kid === kid);
  }

  #lateBound(sel: KeySelector): OfftokenKey | undefined {
    if (this.#unbound.length === 0 || sel.kid === undefined || sel.alg === undefined) return undefined;
    if (sel.use !== undefined && sel.use !== 'sig') return undefined;
    const cacheKey = `${sel.kid}\u0000${sel.alg}`;
    const hit = this.#lazy.get(cacheKey);
    if (hit !== undefined) return hit ?? undefined;
    let out: OfftokenKey | null = null;
    const jwk = this.#unbound.find((j) => j.kid === sel.kid);
    if (jwk !== undefined) {
      try {
        if (jwk.kty === ktyFor(sel.alg))
          out = importJwk({ ...jwk, alg: sel.alg }, { alg: sel.alg as KeyAlg, public: true });
      } catch {
        out = null;
      }
    }
    if (this.#lazy.size < 4 * MAX_JWKS_KEYS) this.#lazy.set(cacheKey, out);
    return out ?? undefined;
  }
}
