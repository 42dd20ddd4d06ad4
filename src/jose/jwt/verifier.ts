import { KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import { splitJws } from '../jws/verify.js';
import { algSpec } from '../lib/alg.js';
import { validateClaims } from '../lib/claims.js';
import { validateCrit } from '../lib/header.js';
import { type AnyKeyResolver, quiet, resolverOf } from '../lib/key_source.js';
import type { AsyncKeyResolver, JwtPolicy, KeyResolver, KeyResolverObject, VerifiedJwt } from '../types.js';
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
  /**
   * ... or a resolver picking it from the header, asked again on every cache hit: a function, or an object
   * with a `resolve` method given as it is (a Keyring, LocalJwks or RemoteJwks). An asynchronous one (a
   * RemoteJwks) needs `verifyAsync`.
   */
  resolver?: KeyResolver | AsyncKeyResolver | KeyResolverObject;
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
  readonly #asyncResolver: AnyKeyResolver | undefined;
  readonly #policy: JwtPolicy;
  readonly #cache: Map<string, Entry> | undefined;
  readonly #max: number;
  readonly #ttl: number;

  constructor(opts: JwtVerifierOptions) {
    if (
      typeof opts !== 'object' ||
      opts === null ||
      (opts.key === undefined) === (opts.resolver === undefined)
    )
      throw new InvalidArgumentError('give exactly one of key or resolver');
    if (typeof opts.policy !== 'object' || opts.policy === null || !Array.isArray(opts.policy.algorithms))
      throw new InvalidArgumentError('a policy with an algorithms allow-list is required');
    if (opts.key !== undefined && !(opts.key instanceof KeyObject))
      throw new InvalidArgumentError(
        typeof (opts.key as { resolve?: unknown }).resolve === 'function'
          ? 'key must be a KeyObject: give a Keyring, LocalJwks or RemoteJwks as resolver'
          : 'key must be a KeyObject',
      );
    this.#key = opts.key;
    const resolver = opts.resolver === undefined ? undefined : resolverOf(opts.resolver, 'resolver');
    if (opts.resolver !== undefined && resolver === undefined)
      throw new InvalidArgumentError('resolver must not be a KeyObject: give it as key');
    this.#asyncResolver = resolver;
    // The synchronous path takes the resolver as it is; one that returns a Promise is reported by the key
    // check as needing verifyAsync.
    this.#resolver = resolver as KeyResolver | undefined;
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
    return this.#remember(token, result, used ?? (this.#key as KeyObject));
  }

  /**
   * verify() for an asynchronous resolver (a RemoteJwks, or any source): the header is checked against the
   * policy before the key is looked up, the key is awaited, then it goes as verify() does, cache included.
   */
  async verifyAsync(token: string): Promise<VerifiedJwt<P>> {
    const resolve = this.#asyncResolver;
    if (resolve === undefined) return this.verify(token);
    const policy = this.#policy;
    const { header } = splitJws(token, policy.maxTokenSize);
    // A header the verifier will refuse must not cost a key lookup: for a remote JWKS that would be a fetch.
    algSpec(header.alg, policy.algorithms);
    if (header.crit !== undefined) validateCrit(header, policy.crit);
    const key = await resolve(header);
    const cache = this.#cache;
    if (cache === undefined) return verifyJwt<P>(token, key, policy);
    const hit = cache.get(token);
    if (hit !== undefined) {
      const r = this.#reuse(token, hit, key);
      if (r !== undefined) return r as VerifiedJwt<P>;
    }
    return this.#remember(token, verifyJwt<Record<string, unknown>>(token, key, policy), key);
  }

  #remember(token: string, result: VerifiedJwt<Record<string, unknown>>, key: KeyObject): VerifiedJwt<P> {
    const cache = this.#cache as Map<string, Entry>;
    deepFreeze(result.payload);
    Object.freeze(result);
    if (cache.size >= this.#max) cache.delete(cache.keys().next().value as string);
    cache.set(token, { result, key, until: this.#now() + this.#ttl });
    return result as VerifiedJwt<P>;
  }

  /**
   * A cached result if it is still good now, else undefined (and the entry is gone). `current` is the key the
   * resolver gives now when the caller already asked it (verifyAsync).
   */
  #reuse(token: string, e: Entry, current?: KeyObject): VerifiedJwt<Record<string, unknown>> | undefined {
    const cache = this.#cache as Map<string, Entry>;
    if (this.#now() >= e.until) {
      cache.delete(token);
      return undefined;
    }
    if (this.#resolver !== undefined) {
      let k: KeyObject | undefined = current;
      if (k === undefined)
        try {
          k = this.#resolver(e.result.header);
          // An asynchronous resolver called on the synchronous path: its answer is unusable here, and its
          // rejection must not go unhandled (full verification reports it as needing verifyAsync).
          if (!(k instanceof KeyObject)) k = quiet(k);
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
