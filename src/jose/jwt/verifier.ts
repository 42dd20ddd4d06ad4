import type { KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import { validateClaims } from '../lib/claims.js';
import type { JwtPolicy, KeyResolver, VerifiedJwt } from '../types.js';
import { verifyJwt } from './verify.js';

/** Bounds of the optional verified-token cache. */
export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered; the least recently used is dropped first. */
  max: number;
  /**
   * Seconds an entry may be reused (default 300), whatever the token's own exp says. Tokens without exp are
   * therefore re-verified at least this often.
   */
  ttl?: number;
}

export interface JwtVerifierOptions {
  /** A fixed verification key ... */
  key?: KeyObject;
  /** ... or a resolver picking it from the header (a keyring or JWKS); asked again on every cache hit. */
  resolver?: KeyResolver;
  policy: JwtPolicy;
  /** Off unless given. */
  cache?: VerifiedTokenCacheOptions;
}

interface Entry {
  result: VerifiedJwt<Record<string, unknown>>;
  key: KeyObject;
  /** Policy-clock second after which the entry is not reused (its ttl). */
  until: number;
}

const DEFAULT_TTL = 300;
const MAX_ENTRIES = 1_000_000;

function deepFreeze(o: object): void {
  Object.freeze(o);
  for (const v of Object.values(o))
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) deepFreeze(v);
}

/**
 * A JWT verifier bound to one key (or resolver) and one policy, with an optional bounded cache of tokens that
 * already verified. A cache hit skips the signature check and the parsing but never the time checks: the
 * claims are checked again against the policy clock, so an entry never outlives the token's exp (nor nbf,
 * iat or maxTokenAge). It never outlives its key either: on every hit the resolver is asked again and the
 * entry is dropped unless it returns the very KeyObject that verified the token (a retired or replaced key
 * makes the token go through full verification, where it fails).
 *
 * With the cache on, results are shared between calls and therefore deeply frozen.
 */
export class JwtVerifier<P = Record<string, unknown>> {
  readonly #key: KeyObject | undefined;
  readonly #resolver: KeyResolver | undefined;
  readonly #policy: JwtPolicy;
  readonly #cache: Map<string, Entry> | undefined;
  readonly #max: number;
  readonly #ttl: number;

  constructor(opts: JwtVerifierOptions) {
    if ((opts.key === undefined) === (opts.resolver === undefined))
      throw new InvalidArgumentError('give exactly one of key or resolver');
    if (typeof opts.policy !== 'object' || opts.policy === null || !Array.isArray(opts.policy.algorithms))
      throw new InvalidArgumentError('a policy with an algorithms allow-list is required');
    this.#key = opts.key;
    this.#resolver = opts.resolver;
    this.#policy = { ...opts.policy };
    this.#max = 0;
    this.#ttl = DEFAULT_TTL;
    if (opts.cache !== undefined) {
      const { max, ttl = DEFAULT_TTL } = opts.cache;
      if (!Number.isSafeInteger(max) || max < 1 || max > MAX_ENTRIES)
        throw new InvalidArgumentError(`cache.max must be an integer from 1 to ${MAX_ENTRIES}`);
      if (!Number.isFinite(ttl) || ttl <= 0) throw new InvalidArgumentError('cache.ttl must be > 0 seconds');
      this.#max = max;
      this.#ttl = ttl;
      this.#cache = new Map();
    }
  }

  /** Number of cached tokens (0 when the cache is off). */
  get cacheSize(): number {
    return this.#cache?.size ?? 0;
  }

  /** Forgets every cached token (e.g. after revoking a key held outside a resolver). */
  clearCache(): void {
    this.#cache?.clear();
  }

  verify(token: string): VerifiedJwt<P> {
    const cache = this.#cache;
    if (cache === undefined)
      return verifyJwt<P>(token, (this.#key ?? this.#resolver) as KeyObject | KeyResolver, this.#policy);
    const hit = cache.get(token);
    if (hit !== undefined) {
      const r = this.#reuse(token, hit);
      if (r !== undefined) return r as VerifiedJwt<P>;
    }
    let used: KeyObject | undefined;
    const resolver = this.#resolver;
    const key =
      resolver === undefined
        ? (this.#key as KeyObject)
        : (h: Parameters<KeyResolver>[0]) => {
            used = resolver(h);
            return used;
          };
    const result = verifyJwt<Record<string, unknown>>(token, key, this.#policy);
    deepFreeze(result.payload);
    Object.freeze(result);
    if (cache.size >= this.#max) cache.delete(cache.keys().next().value as string);
    cache.set(token, { result, key: used ?? (this.#key as KeyObject), until: this.#now() + this.#ttl });
    return result as VerifiedJwt<P>;
  }

  /** A cached result if it is still good now, else undefined (and the entry is gone). */
  #reuse(token: string, e: Entry): VerifiedJwt<Record<string, unknown>> | undefined {
    const cache = this.#cache as Map<string, Entry>;
    if (this.#now() >= e.until) {
      cache.delete(token);
      return undefined;
    }
    if (this.#resolver !== undefined) {
      let k: KeyObject | undefined;
      try {
        k = this.#resolver(e.result.header);
      } catch {
        k = undefined;
      }
      // The key was retired or replaced: full verification decides (and reports the resolver's error).
      if (k !== e.key) {
        cache.delete(token);
        return undefined;
      }
    }
    try {
      validateClaims(e.result.header, e.result.payload, this.#policy);
    } catch (err) {
      cache.delete(token);
      throw err;
    }
    // Least recently used order: a hit moves to the back.
    cache.delete(token);
    cache.set(token, e);
    return e.result;
  }

  #now(): number {
    const p = this.#policy;
    return p.now ?? (p.clock ? p.clock() : Date.now() / 1000);
  }
}
