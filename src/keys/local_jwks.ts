import type { KeyObject } from 'node:crypto';
import { InputTooLargeError } from '../errors/base.js';
import { JwksInvalidError, JwksMultipleMatchingKeysError, JwksNoMatchingKeyError } from '../errors/keys.js';
import { importJwk } from './jwk.js';
import type { Jwks, KeyAlg, KeySelector, OfftokenKey } from './types.js';

export const MAX_JWKS_KEYS = 100;

/** A JWKS imported once into KeyObjects; resolve() is synchronous for the verify hot path. */
export class LocalJwks {
  readonly keys: readonly OfftokenKey[];
  private readonly byKid = new Map<string, OfftokenKey[]>();

  constructor(jwks: Jwks) {
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys))
      throw new JwksInvalidError('not a JWKS');
    if (jwks.keys.length > MAX_JWKS_KEYS)
      throw new InputTooLargeError(`a JWKS may hold at most ${MAX_JWKS_KEYS} keys`);
    const keys: OfftokenKey[] = [];
    for (const jwk of jwks.keys) {
      // Keys without alg cannot be bound to one algorithm (alg confusion), and private members are never trusted here.
      if (typeof jwk?.alg !== 'string') continue;
      if (jwk.use !== undefined && jwk.use !== 'sig' && jwk.use !== 'enc') continue;
      try {
        keys.push(importJwk(jwk, { alg: jwk.alg as KeyAlg, public: jwk.kty !== 'oct' }));
      } catch {
        // An unusable key is skipped so one bad entry does not take the whole set down.
      }
    }
    this.keys = keys;
    for (const k of keys) this.byKid.set(k.kid, [...(this.byKid.get(k.kid) ?? []), k]);
  }

  resolveKey(header: KeySelector): OfftokenKey {
    const pool = header.kid !== undefined ? (this.byKid.get(header.kid) ?? []) : this.keys;
    const m = pool.filter(
      (k) =>
        header.alg === undefined || k.alg === header.alg || (header.alg === 'dir' && k.alg === header.enc),
    );
    if (m.length === 0) throw new JwksNoMatchingKeyError('no key in the JWKS matches the token header');
    if (m.length > 1)
      throw new JwksMultipleMatchingKeysError('several keys match; the token must carry a kid');
    return m[0] as OfftokenKey;
  }

  resolve(header: KeySelector): KeyObject {
    const k = this.resolveKey(header);
    return (k.publicKey ?? k.secretKey) as KeyObject;
  }
}
