import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError, OfftokenError } from '../errors/base.js';
import { StatusListInvalidError, StatusListMismatchError, StatusListStaleError } from '../errors/server.js';
import {
  StatusListFetchFailedError,
  StatusListUnavailableError,
  StatusListUriNotAllowedError,
} from '../errors/status-list.js';
import { boundedFetch, type FetchErrors, nonNegativeOption, positiveOption } from '../keys/bounded-fetch.js';
import { verifyStatusListCwt } from './cwt.js';
import { MAX_STATUS_LIST_BYTES, STATUS_SUSPENDED, STATUS_VALID, type StatusList } from './list.js';
import {
  checkStatusListFresh,
  DEFAULT_STATUS_LIST_MAX_AGE,
  type KeySource,
  readStatusReference,
  statusListFreshUntil,
  verifyStatusListToken,
} from './token.js';

/** draft-ietf-oauth-status-list 7.1 values as answers; `unknown` when no fresh list can be had. */
export type TokenStatus = 'valid' | 'revoked' | 'suspended' | 'unknown';

export interface StatusListClientOptions {
  /**
   * The only places lists are fetched from: absolute http(s) URL prefixes, e.g.
   * `https://issuer.example/status-lists/`. A token's `status_list.uri` must have the same origin and a path
   * under one of them (a prefix path not ending in `/` matches itself or below it), else
   * ERR_STATUS_LIST_URI_NOT_ALLOWED before any network call.
   */
  allowedPrefixes: readonly string[];
  /** The issuer's keys for the list's signature (a KeyObject, a public JWKS, or a resolver). */
  key: KeySource;
  /** Abort a fetch (connect, headers and body) after this many milliseconds (default 5000). */
  timeoutMs?: number;
  /** Largest list token accepted over HTTP, in bytes (default 5 MiB: `lst` itself is capped at 4 MiB). */
  maxBytes?: number;
  /** Largest inflated list, in bytes (default 16 MiB, 134 million 1-bit statuses). */
  maxListBytes?: number;
  /** How long a list without `ttl` is used before refetching (default 300 s). */
  defaultTtlSeconds?: number;
  /**
   * The staleness rule's maximum age of a list with neither `exp` nor `ttl` (checkStatusListFresh's `maxAge`,
   * default DEFAULT_STATUS_LIST_MAX_AGE).
   */
  maxListAgeSeconds?: number;
  /** Seconds of leeway for a list's `exp` and age, as checkStatusListFresh takes it (default 0). */
  clockTolerance?: number;
  /** Cap on a list's `ttl` (default 86400 s): an issuer's typo cannot pin a list for a year. */
  maxTtlSeconds?: number;
  /** Lists held at once, least recently used evicted first (default 16). */
  maxLists?: number;
  /** Inflated bytes held at once across lists (default 64 MiB). */
  maxCacheBytes?: number;
  /** After a failed fetch of a URI, least time before fetching it again (default 10 s). */
  cooldownSeconds?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  clock?: Clock;
  /**
   * Called after each fetch that brought no fresh list (failed, refused, or stale when fetched). Exceptions it
   * throws are ignored.
   */
  onError?: (event: { uri: string; error: OfftokenError }) => void;
}

export interface StatusListClientCheckOptions {
  /**
   * What an unknown status (no fresh list at hand and none fetched) becomes: `throw` (default, fail closed)
   * throws ERR_STATUS_LIST_UNAVAILABLE with the fetch error as cause; `return` answers `{ status: 'unknown' }`
   * and leaves the decision to the caller.
   */
  onUnknown?: 'throw' | 'return';
  /**
   * Accept a list that is no longer fresh by up to this many seconds when a fresh one cannot be fetched
   * (default 0): past the end of its cache lifetime, or past `iat` + `ttl` (+ maxListAgeSeconds without ttl) for
   * a list already stale when fetched. `Infinity` is the library's `allowStale`. Never past the list's `exp`.
   */
  maxStaleSeconds?: number;
}

export interface StatusCheckAnswer {
  status: TokenStatus;
  /** The raw status value (values other than 0x00-0x02 answer `revoked`: not valid); absent when unknown. */
  value?: number;
  idx: number;
  uri: string;
  /** When the list that answered was fetched, unix seconds; absent when unknown. */
  fetchedAt?: number;
}

interface Entry {
  list: StatusList;
  fetchedAt: number;
  /**
   * fetchedAt + bounded ttl, never past the list's own freshness (statusListFreshUntil: iat + ttl, or exp); at or
   * before fetchedAt for a list already stale when fetched.
   */
  freshUntil: number;
  /** The list's exp + tolerance (Infinity without exp): never used at or after it, whatever the policy. */
  exp: number;
  /** Why the list was not fresh when fetched (checkStatusListFresh's error), reported as the fetch's failure. */
  stale?: StatusListStaleError;
}

interface Prefix {
  origin: string;
  path: string;
}

const MAX_URI_CHARS = 2048;
const COSE_SIGN1_TAGGED_HEAD = 0xd2;

const FETCH_ERRORS: FetchErrors = {
  failed: (m, cause) => new StatusListFetchFailedError(m, { cause }),
  timeout: (m, cause) => new StatusListFetchFailedError(m, { cause }),
  tooLarge: (m) => new StatusListInvalidError(m),
};

/**
 * Answers a token's status from the status list it references (draft-ietf-oauth-status-list 8.3), fetched
 * over HTTP from configured prefixes only, in JWT or CWT form, verified with the issuer's keys
 * (`verifyStatusListToken` / `verifyStatusListCwt`: typ, signature, `sub` equal to the token's `uri`, `exp`),
 * judged fresh or stale by the library's rule (checkStatusListFresh) against this client's clock, and cached by
 * its `ttl` and `exp` in a bounded cache, never longer than the rule calls it fresh.
 * Concurrent checks of one list share one fetch.
 *
 * `check` takes the claims of a token the caller has already verified; the client decides status, not
 * authenticity.
 */
export class StatusListClient {
  readonly #prefixes: readonly Prefix[];
  readonly #key: KeySource;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxListBytes: number;
  readonly #defaultTtl: number;
  readonly #maxListAge: number;
  readonly #tolerance: number;
  readonly #maxTtl: number;
  readonly #maxLists: number;
  readonly #maxCacheBytes: number;
  readonly #cooldown: number;
  readonly #headers: Record<string, string>;
  readonly #clock: Clock;
  readonly #onError: ((e: { uri: string; error: OfftokenError }) => void) | undefined;
  // Keyed by the uri string exactly as tokens carry it: a hit needs no URL parsing (it passed the prefix check
  // when it was fetched). Map order is recency: the first key is the least recently used.
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #failures = new Map<string, { at: number; error: OfftokenError }>();
  #cachedBytes = 0;
  #fetches = 0;

  constructor(opts: StatusListClientOptions) {
    if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('options are required');
    if (!Array.isArray(opts.allowedPrefixes) || opts.allowedPrefixes.length === 0)
      throw new InvalidArgumentError('allowedPrefixes must list at least one URL prefix');
    this.#prefixes = opts.allowedPrefixes.map(parsePrefix);
    if (opts.key === undefined || opts.key === null) throw new InvalidArgumentError('key is required');
    this.#key = opts.key;
    this.#timeoutMs = positiveOption(opts.timeoutMs ?? 5000, 'timeoutMs');
    this.#maxBytes = positiveOption(opts.maxBytes ?? 5 * 1024 * 1024, 'maxBytes');
    this.#maxListBytes = positiveOption(opts.maxListBytes ?? MAX_STATUS_LIST_BYTES, 'maxListBytes');
    this.#defaultTtl = positiveOption(opts.defaultTtlSeconds ?? 300, 'defaultTtlSeconds');
    this.#maxListAge = nonNegativeOption(
      opts.maxListAgeSeconds ?? DEFAULT_STATUS_LIST_MAX_AGE,
      'maxListAgeSeconds',
    );
    this.#tolerance = nonNegativeOption(opts.clockTolerance ?? 0, 'clockTolerance');
    this.#maxTtl = positiveOption(opts.maxTtlSeconds ?? 86400, 'maxTtlSeconds');
    this.#maxLists = positiveOption(opts.maxLists ?? 16, 'maxLists');
    this.#maxCacheBytes = positiveOption(opts.maxCacheBytes ?? 64 * 1024 * 1024, 'maxCacheBytes');
    this.#cooldown = nonNegativeOption(opts.cooldownSeconds ?? 10, 'cooldownSeconds');
    this.#headers = { accept: 'application/statuslist+jwt, application/statuslist+cwt', ...opts.headers };
    this.#clock = opts.clock ?? systemClock;
    this.#onError = opts.onError;
  }

  /** Fetches started so far (successful or not), for monitoring. */
  get fetchCount(): number {
    return this.#fetches;
  }

  /**
   * The status of a verified token from its `status.status_list` claim. A token without one is
   * ERR_STATUS_LIST_MISMATCH; a uri outside the allowed prefixes ERR_STATUS_LIST_URI_NOT_ALLOWED (whatever
   * the policy: that is a misissued or hostile token, not an outage).
   */
  async check(
    claims: Record<string, unknown>,
    opts: StatusListClientCheckOptions = {},
  ): Promise<StatusCheckAnswer> {
    if (typeof claims !== 'object' || claims === null)
      throw new StatusListMismatchError('the token claims are not an object');
    const { idx, uri } = readStatusReference(claims);
    const maxStale = opts.maxStaleSeconds ?? 0;
    // Infinity is allowed (any staleness, never past exp); NaN would make every comparison false: refuse it
    if (typeof maxStale !== 'number' || !(maxStale >= 0))
      throw new InvalidArgumentError('maxStaleSeconds must be a non-negative number (Infinity allowed)');
    let entry = this.#usable(uri, 0);
    if (entry === undefined) {
      this.#assertAllowed(uri);
      await this.#fetchIfAllowed(uri);
      entry = this.#usable(uri, maxStale);
    }
    if (entry === undefined) {
      if (opts.onUnknown === 'return') return { status: 'unknown', idx, uri };
      const cause = this.#failures.get(uri)?.error;
      throw new StatusListUnavailableError(
        `no fresh status list is available for this token and none could be fetched${
          cause !== undefined ? ` (${cause.code}: ${cause.message})` : ''
        }`,
        cause !== undefined ? { cause } : undefined,
      );
    }
    // StatusList.get throws ERR_STATUS_LIST_MISMATCH for an idx outside the list.
    const value = entry.list.get(idx);
    return { status: statusName(value), value, idx, uri, fetchedAt: entry.fetchedAt };
  }

  /** The cached list for `uri` if fresh (or stale by less than `maxStale`, never past exp); refreshes recency. */
  #usable(uri: string, maxStale: number): Entry | undefined {
    const e = this.#cache.get(uri);
    if (e === undefined) return undefined;
    const now = this.#clock();
    if (now >= e.exp) {
      this.#evict(uri, e);
      return undefined;
    }
    if (now >= e.freshUntil + maxStale) return undefined;
    this.#cache.delete(uri);
    this.#cache.set(uri, e);
    return e;
  }

  #assertAllowed(uri: string): void {
    if (uri.length > MAX_URI_CHARS)
      throw new StatusListUriNotAllowedError(`the status list uri exceeds ${MAX_URI_CHARS} characters`);
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      throw new StatusListUriNotAllowedError('the status list uri is not an absolute URL');
    }
    // userinfo would let a uri look like an allowed host to a reader while naming another in its URL
    if (u.username !== '' || u.password !== '')
      throw new StatusListUriNotAllowedError('the status list uri carries credentials');
    const ok = this.#prefixes.some(
      (p) =>
        u.origin === p.origin &&
        (u.pathname === p.path || u.pathname.startsWith(p.path.endsWith('/') ? p.path : `${p.path}/`)),
    );
    if (!ok) throw new StatusListUriNotAllowedError('the status list uri is not under an allowed prefix');
  }

  #fetchIfAllowed(uri: string): Promise<void> {
    const running = this.#inflight.get(uri);
    if (running !== undefined) return running;
    const failed = this.#failures.get(uri);
    if (failed !== undefined && this.#clock() - failed.at < this.#cooldown) return Promise.resolve();
    this.#fetches++;
    const p = this.#fetch(uri)
      .then((entry) => {
        // A list stale when fetched is kept (a call allowing that much staleness may use it) but is no fresh
        // answer: it counts as a failed fetch, with the cooldown, the hook and the cause of ERR_STATUS_LIST_UNAVAILABLE.
        const held = this.#cache.get(uri);
        // a stale copy never displaces a cached list that stays usable longer (a lagging mirror is no update)
        if (held === undefined || entry.freshUntil >= held.freshUntil) this.#store(uri, entry);
        if (entry.stale !== undefined) this.#fail(uri, entry.stale);
        else this.#failures.delete(uri);
      })
      .catch((e: unknown) => {
        this.#fail(
          uri,
          e instanceof OfftokenError
            ? e
            : new StatusListFetchFailedError('the status list fetch failed', { cause: e }),
        );
      })
      .finally(() => {
        this.#inflight.delete(uri);
      });
    this.#inflight.set(uri, p);
    return p;
  }

  #fail(uri: string, error: OfftokenError): void {
    this.#failures.delete(uri);
    // bounded like the cache: failures of uris no longer asked about are forgotten first
    if (this.#failures.size >= 4 * this.#maxLists) {
      const oldest = this.#failures.keys().next().value;
      if (oldest !== undefined) this.#failures.delete(oldest);
    }
    this.#failures.set(uri, { at: this.#clock(), error });
    if (this.#onError !== undefined) {
      try {
        this.#onError({ uri, error });
      } catch {
        // A monitoring hook must not decide a token's status.
      }
    }
  }

  async #fetch(uri: string): Promise<Entry> {
    const res = await boundedFetch(new URL(uri), {
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      headers: this.#headers,
      accept: [200],
      errors: FETCH_ERRORS,
      what: 'the status list',
    });
    // allowStale here only defers the staleness verdict to the checkStatusListFresh call below, which keeps
    // the list for a caller whose policy accepts it; exp stays a hard limit inside the verifiers.
    const verifyOpts = {
      key: this.#key,
      uri,
      clock: this.#clock,
      maxBytes: this.#maxListBytes,
      maxTokenSize: this.#maxBytes,
      clockTolerance: this.#tolerance,
      allowStale: true,
    };
    // draft 8.1: the body is the CWT in binary (it opens with tag 18, 0xd2) or the JWS compact serialization
    // (ASCII, never 0xd2); each form is then verified by its own strict rules, whatever Content-Type says.
    const verified =
      res.body[0] === COSE_SIGN1_TAGGED_HEAD
        ? verifyStatusListCwt(res.body, verifyOpts)
        : verifyStatusListToken(res.body.toString('latin1').trim(), verifyOpts);
    const fetchedAt = this.#clock();
    const rule = { clockTolerance: this.#tolerance, maxAge: this.#maxListAge };
    // The list is judged against this client's clock like any list (draft 13.7): an old copy (a mirror or cache
    // that stopped updating) may miss revocations made since it was signed.
    let stale: StatusListStaleError | undefined;
    try {
      checkStatusListFresh(verified, fetchedAt, rule);
    } catch (e) {
      if (!(e instanceof StatusListStaleError)) throw e;
      stale = e;
    }
    const ttl = Math.min(this.#maxTtl, verified.ttl ?? this.#defaultTtl);
    return {
      list: verified.list,
      fetchedAt,
      freshUntil: Math.min(fetchedAt + ttl, statusListFreshUntil(verified, rule)),
      exp: verified.exp !== undefined ? verified.exp + this.#tolerance : Number.POSITIVE_INFINITY,
      ...(stale !== undefined ? { stale } : {}),
    };
  }

  #store(uri: string, entry: Entry): void {
    const old = this.#cache.get(uri);
    if (old !== undefined) this.#evict(uri, old);
    this.#cache.set(uri, entry);
    this.#cachedBytes += entry.list.bytes.byteLength;
    for (const [k, e] of this.#cache) {
      if (this.#cache.size <= this.#maxLists && this.#cachedBytes <= this.#maxCacheBytes) break;
      if (k === uri) continue;
      this.#evict(k, e);
    }
  }

  #evict(uri: string, e: Entry): void {
    if (this.#cache.get(uri) !== e) return;
    this.#cache.delete(uri);
    this.#cachedBytes -= e.list.bytes.byteLength;
  }
}

function statusName(value: number): TokenStatus {
  if (value === STATUS_VALID) return 'valid';
  if (value === STATUS_SUSPENDED) return 'suspended';
  // STATUS_INVALID and application-specific values: not valid (as checkStatusOffline decides)
  return 'revoked';
}

function parsePrefix(p: unknown): Prefix {
  let u: URL;
  try {
    u = new URL(p as string);
  } catch {
    throw new InvalidArgumentError('each allowed prefix must be an absolute URL');
  }
  if (typeof p !== 'string' || (u.protocol !== 'https:' && u.protocol !== 'http:'))
    throw new InvalidArgumentError('each allowed prefix must be an http(s) URL');
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '')
    throw new InvalidArgumentError('an allowed prefix is an origin and a path, nothing else');
  return { origin: u.origin, path: u.pathname };
}
