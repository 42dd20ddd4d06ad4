import type { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError, OfftokenError } from '../errors/base.js';
import {
  JwksFetchFailedError,
  JwksInvalidError,
  JwksNoMatchingKeyError,
  JwksSnapshotInvalidError,
  JwksTimeoutError,
} from '../errors/keys.js';
import { parseJsonObject } from '../jose/lib/json.js';
import { boundedFetch, type FetchErrors, nonNegativeOption, positiveOption } from './bounded-fetch.js';
import { LocalJwks, MAX_JWKS_KEYS } from './local_jwks.js';
import { headerSelector } from './select.js';
import type { Jwk, Jwks, KeySelector, OfftokenKey } from './types.js';

export interface RemoteJwksOptions {
  /** Abort a fetch (connect, headers and body) after this many milliseconds (default 5000). */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes (default 256 KiB). */
  maxBytes?: number;
  /**
   * Longest time a fetched set counts as fresh (default 600 s). It is also the freshness lifetime when the
   * response has no `Cache-Control: max-age`; a larger max-age is cut down to it.
   */
  maxAgeSeconds?: number;
  /**
   * Shortest freshness lifetime (default 60 s, or maxAgeSeconds when smaller): a `max-age` below it, `no-cache`
   * or `no-store` is raised to it, so a provider cannot make every verify fetch.
   */
  minAgeSeconds?: number;
  /**
   * After the freshness lifetime, the last good set keeps serving for this long while a refresh runs or keeps
   * failing (default 86400 s = 24 h). 0 restores fail-closed at the lifetime: verifies then wait for the fetch.
   */
  staleIfErrorSeconds?: number;
  /**
   * Least time between two fetches, successful or not (default 30 s). It bounds how often tokens with
   * unknown kids can make this process call the JWKS URL, and how often a failing URL is retried.
   */
  cooldownSeconds?: number;
  /** Extra request headers (e.g. a User-Agent the provider asks for). */
  headers?: Record<string, string>;
  clock?: Clock;
  /** Start from a set saved by `export()` (a cold start, a machine that boots without network). */
  snapshot?: RemoteJwksSnapshot;
  /** Called after each successful fetch (200, or 304 with the cached set). Exceptions it throws are ignored. */
  onRefresh?: (event: RemoteJwksRefreshEvent) => void;
  /** Called after each failed fetch, with what is served meanwhile. Exceptions it throws are ignored. */
  onError?: (event: RemoteJwksErrorEvent) => void;
}

/** What `export()` returns and `snapshot` takes: plain JSON, safe to write to a file. */
export interface RemoteJwksSnapshot {
  version: 1;
  /** The JWKS URL; a snapshot is only taken by a RemoteJwks of the same URL. */
  url: string;
  /** When the set was fetched (or last revalidated by a 304), unix seconds. */
  fetchedAt: number;
  /** Until when it is fresh, unix seconds (re-bounded by the loading instance's min/max ages). */
  freshUntil: number;
  /** The response's ETag, sent back as If-None-Match. */
  etag?: string;
  /** The public keys as published (private members and secret keys never appear). */
  jwks: Jwks;
}

export interface RemoteJwksRefreshEvent {
  url: string;
  /** 200: a new set; 304: the cached set confirmed. */
  status: 200 | 304;
  fetchedAt: number;
  freshUntil: number;
  /** Keys in the set (as published, including ones bound to an alg only on use). */
  keys: number;
}

export interface RemoteJwksErrorEvent {
  url: string;
  error: OfftokenError;
  /** When the set still held was fetched; absent when there is none. */
  lastFetchedAt?: number;
  /** Until when that set keeps serving (its lifetime plus staleIfErrorSeconds); absent when there is none. */
  staleUntil?: number;
}

interface CacheEntry {
  jwks: LocalJwks;
  /** The published keys, for export(). */
  published: Jwk[];
  fetchedAt: number;
  /** Freshness lifetime in seconds, already bounded by min/max ages. */
  lifetime: number;
  etag?: string;
}

// A background refresh starts once this fraction of the lifetime has passed, so that with steady traffic
// the next set arrives before the current one goes stale and no verify ever waits.
const REFRESH_AHEAD = 0.75;
// Tolerance for a snapshot's fetchedAt ahead of this clock (machines' clocks differ a little).
const SNAPSHOT_SKEW_SECONDS = 60;
// RFC 9110 8.8.3: entity-tag = [ W/ ] DQUOTE *etagc DQUOTE, bounded here.
const ETAG = /^(?:W\/)?"[\x21\x23-\x7e]{0,250}"$/;
// RFC 7518 6.2.2, 6.3.2, 6.4: members that only a private or secret key has.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const FETCH_ERRORS: FetchErrors = {
  failed: (m, cause) => new JwksFetchFailedError(m, { cause }),
  timeout: (m, cause) => new JwksTimeoutError(m, { cause }),
  tooLarge: (m) => new JwksInvalidError(m),
};

/**
 * A JWKS fetched from a URL the user configured - and only then: nothing in a token (jku, x5u) ever makes
 * offtoken fetch. Once a set is held, verifies never wait for the network: from 3/4 of the set's freshness
 * lifetime (Cache-Control max-age within min/max ages) a refresh runs in the background (with If-None-Match
 * when there is an ETag), and after the lifetime the set keeps serving for `staleIfErrorSeconds` while
 * refreshes run or fail, each failure reported to `onError`. Past that it fails closed. A token whose kid is
 * not in the set triggers one refetch (key rotation at the provider), never more than one per
 * `cooldownSeconds`; concurrent callers share one in-flight fetch. Responses are bounded in time and size,
 * redirects are refused, and only asymmetric keys are taken from the set.
 *
 * `resolve` is an AsyncKeyResolver for `verifyJwtAsync`.
 */
export class RemoteJwks {
  readonly url: URL;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxAge: number;
  readonly #minAge: number;
  readonly #staleIfError: number;
  readonly #cooldown: number;
  readonly #headers: Record<string, string>;
  readonly #clock: Clock;
  readonly #onRefresh: ((e: RemoteJwksRefreshEvent) => void) | undefined;
  readonly #onError: ((e: RemoteJwksErrorEvent) => void) | undefined;
  #cache: CacheEntry | undefined;
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #lastError: OfftokenError | undefined;
  #inflight: Promise<void> | undefined;
  #fetches = 0;

  constructor(url: string | URL, opts: RemoteJwksOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new InvalidArgumentError('the JWKS URL is not an absolute URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      throw new InvalidArgumentError('the JWKS URL must be http(s)');
    this.url = u;
    this.#timeoutMs = positiveOption(opts.timeoutMs ?? 5000, 'timeoutMs');
    this.#maxBytes = positiveOption(opts.maxBytes ?? 256 * 1024, 'maxBytes');
    this.#maxAge = positiveOption(opts.maxAgeSeconds ?? 600, 'maxAgeSeconds');
    this.#minAge = positiveOption(opts.minAgeSeconds ?? Math.min(60, this.#maxAge), 'minAgeSeconds');
    if (this.#minAge > this.#maxAge)
      throw new InvalidArgumentError('minAgeSeconds must not exceed maxAgeSeconds');
    this.#staleIfError = nonNegativeOption(opts.staleIfErrorSeconds ?? 86400, 'staleIfErrorSeconds');
    this.#cooldown = nonNegativeOption(opts.cooldownSeconds ?? 30, 'cooldownSeconds');
    this.#headers = { accept: 'application/jwk-set+json, application/json', ...opts.headers };
    this.#clock = opts.clock ?? systemClock;
    this.#onRefresh = opts.onRefresh;
    this.#onError = opts.onError;
    if (opts.snapshot !== undefined) this.#cache = this.#fromSnapshot(opts.snapshot);
  }

  /** Fetches started so far (successful or not), for monitoring. */
  get fetchCount(): number {
    return this.#fetches;
  }

  /** The AsyncKeyResolver: the key for a header's kid/alg. */
  readonly resolve = async (header: KeySelector): Promise<KeyObject> => {
    const k = await this.resolveKey(headerSelector(header));
    return k.publicKey as KeyObject;
  };

  async resolveKey(sel: KeySelector): Promise<OfftokenKey> {
    const cache = await this.#current();
    try {
      return cache.jwks.resolveKey(sel);
    } catch (e) {
      // A kid the set does not know may be a key the provider just rotated in: refetch, within the cooldown.
      if (!(e instanceof JwksNoMatchingKeyError) || sel.kid === undefined || cache.jwks.hasKid(sel.kid))
        throw e;
      await this.#fetchIfAllowed();
      const next = this.#cache;
      if (next === undefined || next.jwks === cache.jwks) throw e;
      return next.jwks.resolveKey(sel);
    }
  }

  /** The keys of the current set (fetching it when there is none or it is past its stale window). */
  async keys(): Promise<readonly OfftokenKey[]> {
    return (await this.#current()).jwks.keys;
  }

  /**
   * Fetches now unless a fetch is in flight (then waits for it) or the cooldown has not passed; throws the
   * last fetch's error.
   */
  async refresh(): Promise<void> {
    await this.#fetchIfAllowed();
    if (this.#lastError !== undefined) throw this.#lastError;
  }

  /**
   * Resolves once no fetch is in flight, starting none: e.g. before `export()` at the end of a serverless
   * invocation, so the snapshot holds the set a background refresh was fetching.
   */
  async settled(): Promise<void> {
    while (this.#inflight !== undefined) await this.#inflight;
  }

  /** The set held now, as plain JSON for `new RemoteJwks(url, { snapshot })`; undefined before any fetch. */
  export(): RemoteJwksSnapshot | undefined {
    const c = this.#cache;
    if (c === undefined) return undefined;
    return {
      version: 1,
      url: this.url.href,
      fetchedAt: c.fetchedAt,
      freshUntil: c.fetchedAt + c.lifetime,
      ...(c.etag !== undefined ? { etag: c.etag } : {}),
      jwks: { keys: c.published.map((k) => ({ ...k })) },
    };
  }

  /**
   * The set to verify with. Fresh: served (refreshing in the background near its end). Stale but within
   * staleIfErrorSeconds: served while a background refresh runs. Beyond, or with no set: wait for a fetch,
   * and fail closed (like jose) when it fails or the cooldown holds it back, rather than use keys the
   * provider may have withdrawn long ago.
   */
  async #current(): Promise<CacheEntry> {
    const c = this.#cache;
    if (c !== undefined) {
      const age = this.#clock() - c.fetchedAt;
      if (age < c.lifetime * REFRESH_AHEAD) return c;
      if (age < c.lifetime + this.#staleIfError) {
        void this.#fetchIfAllowed();
        return c;
      }
    }
    await this.#fetchIfAllowed();
    const n = this.#cache;
    if (n === undefined || this.#clock() - n.fetchedAt >= n.lifetime + this.#staleIfError)
      throw this.#lastError ?? new JwksFetchFailedError('the JWKS is not available');
    return n;
  }

  /** Never rejects: the outcome is in #cache / #lastError, and reported to the hooks. */
  #fetchIfAllowed(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#clock() - this.#lastAttempt < this.#cooldown) return Promise.resolve();
    this.#lastAttempt = this.#clock();
    this.#fetches++;
    const previous = this.#cache;
    this.#inflight = this.#fetch(previous)
      .then((entry) => {
        this.#cache = entry;
        this.#lastError = undefined;
        this.#emit(this.#onRefresh, {
          url: this.url.href,
          status: entry.jwks === previous?.jwks ? 304 : 200,
          fetchedAt: entry.fetchedAt,
          freshUntil: entry.fetchedAt + entry.lifetime,
          keys: entry.published.length,
        });
      })
      .catch((e: unknown) => {
        // The previous good set (if any) stays in place until its stale window closes.
        const error =
          e instanceof OfftokenError ? e : new JwksFetchFailedError('the JWKS fetch failed', { cause: e });
        this.#lastError = error;
        const held = this.#cache;
        this.#emit(this.#onError, {
          url: this.url.href,
          error,
          ...(held !== undefined
            ? {
                lastFetchedAt: held.fetchedAt,
                staleUntil: held.fetchedAt + held.lifetime + this.#staleIfError,
              }
            : {}),
        });
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  #emit<E>(hook: ((e: E) => void) | undefined, event: E): void {
    if (hook === undefined) return;
    try {
      hook(event);
    } catch {
      // A monitoring hook must not decide whether keys are served.
    }
  }

  async #fetch(previous: CacheEntry | undefined): Promise<CacheEntry> {
    const headers = { ...this.#headers };
    if (previous?.etag !== undefined) headers['if-none-match'] = previous.etag;
    const res = await boundedFetch(this.url, {
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      headers,
      // RFC 9110 15.4.5: a 304 only answers a conditional request.
      accept: previous?.etag !== undefined ? [200, 304] : [200],
      errors: FETCH_ERRORS,
      what: 'the JWKS',
    });
    const fetchedAt = this.#clock();
    const lifetime = freshnessLifetime(res.headers, this.#minAge, this.#maxAge);
    const etagHeader = res.headers.get('etag');
    const etag = etagHeader !== null && ETAG.test(etagHeader) ? etagHeader : undefined;
    if (res.status === 304 && previous !== undefined) {
      // RFC 9111 4.3.4: a 304 freshens the stored response with its own headers.
      return { ...previous, fetchedAt, lifetime, ...(etag !== undefined ? { etag } : {}) };
    }
    let doc: Record<string, unknown>;
    try {
      doc = parseJsonObject(
        res.body.toString('utf8'),
        { maxDepth: 8, rejectDuplicates: false },
        (reason) => new JwksInvalidError(`the JWKS response ${reason}`),
      );
    } catch (e) {
      if (e instanceof JwksInvalidError) throw e;
      throw new JwksInvalidError('the JWKS response is nested too deeply');
    }
    let jwks: LocalJwks;
    try {
      // Remote sets never contribute secret keys: a shared secret has no business in a published set.
      jwks = new LocalJwks(doc as unknown as Jwks, { allowSecretKeys: false });
    } catch (e) {
      if (e instanceof JwksInvalidError) throw e;
      throw new JwksInvalidError(`the JWKS response is not usable: ${(e as Error).message}`);
    }
    const published = (doc.keys as unknown[]).filter(isPublicJwk);
    return { jwks, published, fetchedAt, lifetime, ...(etag !== undefined ? { etag } : {}) };
  }

  /** A snapshot is input like any other (it may come from a file anyone could edit): checked strictly. */
  #fromSnapshot(s: RemoteJwksSnapshot): CacheEntry {
    const bad = (why: string) => new JwksSnapshotInvalidError(`the JWKS snapshot ${why}`);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad('is not an object');
    const allowed = ['version', 'url', 'fetchedAt', 'freshUntil', 'etag', 'jwks'];
    for (const m of Object.keys(s)) if (!allowed.includes(m)) throw bad(`has an unknown member "${m}"`);
    if (s.version !== 1) throw bad('has an unknown version');
    if (s.url !== this.url.href) throw bad('is of another URL');
    const { fetchedAt, freshUntil, etag, jwks } = s;
    if (typeof fetchedAt !== 'number' || !Number.isFinite(fetchedAt) || fetchedAt <= 0)
      throw bad('has no valid fetchedAt');
    // A set dated in the future would stretch its own stale window.
    if (fetchedAt > this.#clock() + SNAPSHOT_SKEW_SECONDS) throw bad('was fetched in the future');
    if (typeof freshUntil !== 'number' || !Number.isFinite(freshUntil) || freshUntil < fetchedAt)
      throw bad('has no valid freshUntil');
    if (etag !== undefined && (typeof etag !== 'string' || !ETAG.test(etag)))
      throw bad('has an invalid etag');
    if (typeof jwks !== 'object' || jwks === null || Array.isArray(jwks)) throw bad('has no jwks object');
    if (Object.keys(jwks).some((m) => m !== 'keys') || !Array.isArray(jwks.keys))
      throw bad('jwks must be exactly { keys: [...] }');
    if (jwks.keys.length > MAX_JWKS_KEYS) throw bad(`holds more than ${MAX_JWKS_KEYS} keys`);
    for (const k of jwks.keys) if (!isPublicJwk(k)) throw bad('holds a key that is not a public JWK');
    let local: LocalJwks;
    try {
      local = new LocalJwks({ keys: jwks.keys }, { allowSecretKeys: false });
    } catch (e) {
      throw new JwksSnapshotInvalidError('the JWKS snapshot keys are not usable', { cause: e });
    }
    const lifetime = Math.min(this.#maxAge, Math.max(this.#minAge, freshUntil - fetchedAt));
    return {
      jwks: local,
      published: jwks.keys.map((k) => ({ ...k })),
      fetchedAt,
      lifetime,
      ...(etag !== undefined ? { etag } : {}),
    };
  }
}

function isPublicJwk(k: unknown): k is Jwk {
  if (typeof k !== 'object' || k === null || Array.isArray(k)) return false;
  const jwk = k as Record<string, unknown>;
  if (typeof jwk.kty !== 'string' || jwk.kty === 'oct') return false;
  return !PRIVATE_MEMBERS.some((m) => m in jwk);
}

/**
 * RFC 9111 4.2.1 and 5.2.2.1: the lifetime is the response's max-age less its Age, `no-cache`/`no-store`
 * count as 0, and no max-age (or an unparsable one) means the configured maximum; the result is bounded by
 * the configured minimum and maximum ages.
 */
export function freshnessLifetime(headers: Headers, min: number, max: number): number {
  let life = max;
  const cc = headers.get('cache-control');
  if (cc !== null && cc.length <= 1024) {
    for (const part of cc.split(',')) {
      const d = part.trim().toLowerCase();
      if (d === 'no-cache' || d === 'no-store') life = 0;
      const m = /^max-age=(\d{1,10})$/.exec(d);
      if (m !== null) life = Math.min(life, Number(m[1]));
    }
  }
  const age = headers.get('age');
  if (age !== null && /^\d{1,10}$/.test(age)) life -= Number(age);
  return Math.min(max, Math.max(min, life));
}
