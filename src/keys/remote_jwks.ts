import type { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError, OfftokenError } from '../errors/base.js';
import {
  JwksFetchFailedError,
  JwksInvalidError,
  JwksNoMatchingKeyError,
  JwksTimeoutError,
} from '../errors/keys.js';
import { parseJsonObject } from '../jose/lib/json.js';
import { LocalJwks } from './local_jwks.js';
import { headerSelector } from './select.js';
import type { Jwks, KeySelector, OfftokenKey } from './types.js';

export interface RemoteJwksOptions {
  /** Abort a fetch (connect, headers and body) after this many milliseconds (default 5000). */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes (default 256 KiB). */
  maxBytes?: number;
  /** A fetched set is used for this long before it is fetched again (default 600 s). */
  maxAgeSeconds?: number;
  /**
   * Least time between two fetches, successful or not (default 30 s). It bounds how often tokens with
   * unknown kids can make this process call the JWKS URL, and how often a failing URL is retried.
   */
  cooldownSeconds?: number;
  /** Extra request headers (e.g. a User-Agent the provider asks for). */
  headers?: Record<string, string>;
  clock?: Clock;
}

interface CacheEntry {
  jwks: LocalJwks;
  fetchedAt: number;
}

/**
 * A JWKS fetched from a URL the user configured - and only then: nothing in a token (jku, x5u) ever makes
 * offtoken fetch. The set is cached for `maxAgeSeconds`; a token whose kid is not in the cached set triggers
 * one refetch (key rotation at the provider) but never more than one per `cooldownSeconds`; concurrent
 * callers share one in-flight fetch. Responses are bounded in time (AbortSignal) and size, redirects are
 * refused, and only asymmetric keys are taken from the set.
 *
 * `resolve` is an AsyncKeyResolver for `verifyJwtAsync`.
 */
export class RemoteJwks {
  readonly url: URL;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxAge: number;
  readonly #cooldown: number;
  readonly #headers: Record<string, string>;
  readonly #clock: Clock;
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
    this.#timeoutMs = positive(opts.timeoutMs ?? 5000, 'timeoutMs');
    this.#maxBytes = positive(opts.maxBytes ?? 256 * 1024, 'maxBytes');
    this.#maxAge = positive(opts.maxAgeSeconds ?? 600, 'maxAgeSeconds');
    this.#cooldown = nonNegative(opts.cooldownSeconds ?? 30, 'cooldownSeconds');
    this.#headers = { accept: 'application/jwk-set+json, application/json', ...opts.headers };
    this.#clock = opts.clock ?? systemClock;
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
      if (next === undefined || next === cache) throw e;
      return next.jwks.resolveKey(sel);
    }
  }

  /** The keys of the current set (fetching it when there is none or it is older than the max age). */
  async keys(): Promise<readonly OfftokenKey[]> {
    return (await this.#current()).jwks.keys;
  }

  /** Fetches now unless a fetch is in flight or the cooldown has not passed; throws the last fetch's error. */
  async refresh(): Promise<void> {
    await this.#fetchIfAllowed();
    if (this.#lastError !== undefined) throw this.#lastError;
  }

  /**
   * The cached set within its max age, fetching when needed. Like jose, this fails closed: once the max age
   * has passed and the refetch fails (or is held back by the cooldown after a failure), the error surfaces
   * rather than keys the provider may have withdrawn.
   */
  async #current(): Promise<CacheEntry> {
    const fresh = () => this.#cache !== undefined && this.#clock() - this.#cache.fetchedAt < this.#maxAge;
    if (!fresh()) await this.#fetchIfAllowed();
    if (!fresh()) throw this.#lastError ?? new JwksFetchFailedError('the JWKS is not available');
    return this.#cache as CacheEntry;
  }

  async #fetchIfAllowed(): Promise<void> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#clock() - this.#lastAttempt < this.#cooldown) return;
    this.#lastAttempt = this.#clock();
    this.#fetches++;
    this.#inflight = this.#fetch()
      .then((jwks) => {
        this.#cache = { jwks, fetchedAt: this.#clock() };
        this.#lastError = undefined;
      })
      .catch((e: unknown) => {
        // The previous good set (if any) stays in place until its own max age.
        this.#lastError =
          e instanceof OfftokenError ? e : new JwksFetchFailedError('the JWKS fetch failed', { cause: e });
      })
      .finally(() => {
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  async #fetch(): Promise<LocalJwks> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.url, { headers: this.#headers, redirect: 'error', signal });
    } catch (e) {
      throw mapFetchError(e, signal);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksFetchFailedError(`the JWKS URL answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > this.#maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksInvalidError(`the JWKS response exceeds ${this.#maxBytes} bytes`);
    }
    const body = await readBounded(res, this.#maxBytes, signal);
    let doc: Record<string, unknown>;
    try {
      doc = parseJsonObject(
        body.toString('utf8'),
        { maxDepth: 8, rejectDuplicates: false },
        (reason) => new JwksInvalidError(`the JWKS response ${reason}`),
      );
    } catch (e) {
      if (e instanceof JwksInvalidError) throw e;
      throw new JwksInvalidError('the JWKS response is nested too deeply');
    }
    try {
      // Remote sets never contribute secret keys: a shared secret has no business in a published set.
      return new LocalJwks(doc as unknown as Jwks, { allowSecretKeys: false });
    } catch (e) {
      if (e instanceof JwksInvalidError) throw e;
      throw new JwksInvalidError(`the JWKS response is not usable: ${(e as Error).message}`);
    }
  }
}

async function readBounded(res: Response, max: number, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body === null) return Buffer.alloc(0);
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw new JwksInvalidError(`the JWKS response exceeds ${max} bytes`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (e) {
    if (e instanceof OfftokenError) throw e;
    throw mapFetchError(e, signal);
  }
  return Buffer.concat(chunks, total);
}

function mapFetchError(e: unknown, signal: AbortSignal): OfftokenError {
  if (signal.aborted || (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError')
    return new JwksTimeoutError('the JWKS fetch timed out', { cause: e });
  return new JwksFetchFailedError('the JWKS URL cannot be fetched', { cause: e });
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return v;
}

function nonNegative(v: number, name: string): number {
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return v;
}
