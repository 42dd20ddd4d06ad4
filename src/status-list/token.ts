import { createPublicKey, type KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import {
  AuthoritySignatureError,
  StatusListInvalidError,
  StatusListMismatchError,
  StatusListStaleError,
  TokenRevokedError,
  TokenSuspendedError,
} from '../errors/server.js';
import { verifyJwt } from '../jose/jwt/verify.js';
import { decodeCompact, MAX_JWS_SIZE, signCompact, verifyDecoded } from './jws.js';
import { STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID, StatusList } from './list.js';

/** draft-ietf-oauth-status-list 5.1: the media type's JWT typ. */
export const STATUS_LIST_TYP = 'statuslist+jwt';
const ALGS = ['ES256', 'EdDSA'] as const;
/** RFC 9068 2.1: the typ of the access tokens the authority issues, the tokens a status check is usually about. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/**
 * The oldest a status list may be when it carries neither `exp` nor `ttl` (draft 5.1 leaves the cache lifetime
 * to the relying party then): one day, the longest the authority's own lists live.
 */
export const DEFAULT_STATUS_LIST_MAX_AGE = 86400;

export interface StatusListTokenOptions {
  /** The list's URI: the `sub` claim, equal to `status.status_list.uri` in referenced tokens. */
  uri: string;
  issuer?: string;
  key: KeyObject;
  kid?: string;
  /** Issued-at, unix seconds (default now). */
  iat?: number;
  /** Expiry, unix seconds: after it a relying party must fetch a fresh list. */
  exp?: number;
  /** draft 5.1 `ttl`: seconds a cached copy may be used before refreshing. */
  ttl?: number;
}

export function createStatusListToken(list: StatusList, opts: StatusListTokenOptions): string {
  const iat = Math.floor(opts.iat ?? Date.now() / 1000);
  const claims: Record<string, unknown> = { sub: opts.uri, iat };
  if (opts.issuer !== undefined) claims.iss = opts.issuer;
  if (opts.exp !== undefined) claims.exp = opts.exp;
  if (opts.ttl !== undefined) claims.ttl = opts.ttl;
  claims.status_list = list.encode();
  return signCompact(
    { typ: STATUS_LIST_TYP, ...(opts.kid !== undefined ? { kid: opts.kid } : {}) },
    claims,
    opts.key,
  );
}

/** A public JWKS (`{ keys: [...] }`) as given on disk or by /.well-known/jwks.json. */
export interface Jwks {
  keys: Record<string, unknown>[];
}

/** Picks the key for a header from a JWKS by kid (required when the set holds more than one key). */
export function jwksResolver(jwks: Jwks): (header: { kid?: string; alg: string }) => KeyObject {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys))
    throw new StatusListInvalidError('JWKS has no keys array');
  const cache = new Map<number, KeyObject>();
  return (header) => {
    const candidates = jwks.keys
      .map((k, i) => [k, i] as const)
      .filter(
        ([k]) =>
          (header.kid === undefined || k.kid === header.kid) && (k.use === undefined || k.use === 'sig'),
      );
    if (candidates.length !== 1)
      throw new AuthoritySignatureError('no single JWKS key matches the token kid');
    const [jwk, i] = candidates[0]!;
    let key = cache.get(i);
    if (!key) {
      if ('d' in jwk) throw new AuthoritySignatureError('JWKS must hold public keys only');
      try {
        key = createPublicKey({ key: jwk as never, format: 'jwk' });
      } catch {
        throw new AuthoritySignatureError('JWKS key cannot be imported');
      }
      cache.set(i, key);
    }
    return key;
  };
}

export type KeySource = KeyObject | Jwks | ((header: { kid?: string; alg: string }) => KeyObject);

export function toResolver(src: KeySource): (header: { kid?: string; alg: string }) => KeyObject {
  if (typeof src === 'function') return src;
  if ('keys' in src && Array.isArray((src as Jwks).keys)) return jwksResolver(src as Jwks);
  return () => src as KeyObject;
}

export interface VerifiedStatusList {
  uri: string;
  iat: number;
  exp?: number;
  ttl?: number;
  list: StatusList;
}

export interface VerifyStatusListOptions {
  key: KeySource;
  /** The URI the referenced token points to; `sub` must equal it (draft 8.3 step 4). */
  uri?: string;
  clock?: Clock;
  maxBytes?: number;
  maxTokenSize?: number;
  /** Seconds of leeway for the list's `exp` and age (default 0). */
  clockTolerance?: number;
  /** Accept a list without `exp` that is older than its `ttl` (default false: ERR_STATUS_LIST_STALE). */
  allowStale?: boolean;
  /** Maximum age of a list with neither `exp` nor `ttl` (default DEFAULT_STATUS_LIST_MAX_AGE). */
  maxAge?: number;
}

/**
 * The staleness rule (draft 5.1, 13.7): a list with `exp` is usable until then (checked with the signature); a
 * list without `exp` only while it is younger than its `ttl`, or than `maxAge` when it has no ttl either. An
 * older copy may miss revocations made since it was signed, so it cannot vouch for a token.
 */
export function checkStatusListFresh(
  list: { iat: number; exp?: number; ttl?: number },
  now: number,
  opts: { clockTolerance?: number; allowStale?: boolean; maxAge?: number } = {},
): void {
  const tolerance = opts.clockTolerance ?? 0;
  // a NaN anywhere would make the age comparison false, i.e. call every list fresh: fail closed
  if (!Number.isFinite(now) || !(tolerance >= 0 && Number.isFinite(tolerance)))
    throw new InvalidArgumentError('now and clockTolerance must be finite numbers (tolerance >= 0)');
  if (opts.maxAge !== undefined && !(opts.maxAge >= 0 && Number.isFinite(opts.maxAge)))
    throw new InvalidArgumentError('maxAge must be a finite number of seconds >= 0');
  if (list.exp !== undefined || opts.allowStale) return;
  // without exp the age is all that bounds the list: one issued in the future would stay fresh until then
  if (list.iat > now + tolerance)
    throw new StatusListInvalidError('the status list was issued in the future and has no exp');
  const maxAge = list.ttl ?? opts.maxAge ?? DEFAULT_STATUS_LIST_MAX_AGE;
  const age = Math.floor(now - list.iat);
  if (age > maxAge + tolerance)
    throw new StatusListStaleError(
      `the status list is ${age} s old, more than ${list.ttl !== undefined ? 'its ttl' : 'the maximum age'} of ${maxAge} s, and has no exp: fetch a fresh copy`,
    );
}

/**
 * The first instant (unix seconds) at which the rule above, or the verifiers' exp check, refuses this list:
 * `exp` + tolerance when it has an exp, else the first whole second of age past its ttl (or `maxAge`) +
 * tolerance. A cache of verified lists (StatusListClient) keeps a list no longer than this, so the cache and
 * checkStatusListFresh can never disagree on whether a list is fresh.
 */
export function statusListFreshUntil(
  list: { iat: number; exp?: number; ttl?: number },
  opts: { clockTolerance?: number; maxAge?: number } = {},
): number {
  const tolerance = opts.clockTolerance ?? 0;
  if (list.exp !== undefined) return list.exp + tolerance;
  const maxAge = list.ttl ?? opts.maxAge ?? DEFAULT_STATUS_LIST_MAX_AGE;
  // checkStatusListFresh compares whole seconds of age: stale once floor(now - iat) > maxAge + tolerance
  return list.iat + Math.floor(maxAge + tolerance) + 1;
}

/**
 * The claims both forms of a status list carry (draft 8.3, JWT and CWT alike): `sub` (the list's uri), `iat`,
 * optional `exp` and `ttl`; the list must not be past its exp (a hard limit: allowStale does not lift it),
 * not stale (checkStatusListFresh), and its `sub` must be the referenced uri. One rule for both forms.
 */
export function checkStatusListClaims(
  c: { sub: unknown; iat: unknown; exp: unknown; ttl: unknown },
  opts: {
    clock?: Clock;
    clockTolerance?: number;
    allowStale?: boolean;
    maxAge?: number;
    uri?: string;
  },
  bad: (message: string) => Error,
): { uri: string; iat: number; exp?: number; ttl?: number } {
  const { sub, iat, exp, ttl } = c;
  if (typeof sub !== 'string') throw bad('status list token has no sub');
  if (typeof iat !== 'number') throw bad('status list token has no iat');
  if (exp !== undefined && typeof exp !== 'number') throw bad('exp is not a number');
  if (ttl !== undefined && (typeof ttl !== 'number' || ttl <= 0)) throw bad('ttl is not a positive number');
  const now = (opts.clock ?? systemClock)();
  const tolerance = opts.clockTolerance ?? 0;
  if (!(tolerance >= 0 && Number.isFinite(tolerance)))
    throw new InvalidArgumentError('clockTolerance must be a finite number of seconds >= 0');
  // draft 8.3 step 5: a list past its exp must not be used
  if (exp !== undefined && now >= exp + tolerance)
    throw new StatusListInvalidError('status list token has expired');
  checkStatusListFresh(
    { iat, ...(exp !== undefined ? { exp } : {}), ...(ttl !== undefined ? { ttl } : {}) },
    now,
    {
      clockTolerance: tolerance,
      ...(opts.allowStale !== undefined ? { allowStale: opts.allowStale } : {}),
      ...(opts.maxAge !== undefined ? { maxAge: opts.maxAge } : {}),
    },
  );
  if (opts.uri !== undefined && sub !== opts.uri)
    throw new StatusListMismatchError('status list sub does not match the referenced uri');
  return { uri: sub, iat, ...(exp !== undefined ? { exp } : {}), ...(ttl !== undefined ? { ttl } : {}) };
}

/** Verifies a status list token (draft 8.3): typ, signature, sub, iat, exp; then decodes the list. */
export function verifyStatusListToken(token: string, opts: VerifyStatusListOptions): VerifiedStatusList {
  const d = decodeCompact(token, opts.maxTokenSize ?? 8 * 1024 * 1024);
  if (d.header.typ !== STATUS_LIST_TYP) throw new StatusListInvalidError(`typ must be ${STATUS_LIST_TYP}`);
  const key = toResolver(opts.key)(d.header);
  verifyDecoded(d, key, ALGS);
  const { sub, iat, exp, ttl, status_list } = d.payload;
  const claims = checkStatusListClaims({ sub, iat, exp, ttl }, opts, (m) => new StatusListInvalidError(m));
  const list = StatusList.decode(status_list, opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {});
  return {
    ...claims,
    list,
  };
}

/** draft 6.1: a referenced token's `status.status_list` claim. */
export function readStatusReference(payload: Record<string, unknown>): { idx: number; uri: string } {
  const status = payload.status as { status_list?: { idx?: unknown; uri?: unknown } } | undefined;
  const ref = status?.status_list;
  if (typeof ref !== 'object' || ref === null)
    throw new StatusListMismatchError('token has no status.status_list');
  if (typeof ref.idx !== 'number' || !Number.isSafeInteger(ref.idx) || ref.idx < 0)
    throw new StatusListMismatchError('status_list.idx is not a non-negative integer');
  if (typeof ref.uri !== 'string') throw new StatusListMismatchError('status_list.uri is not a string');
  return { idx: ref.idx, uri: ref.uri };
}

export interface StatusCheckResult {
  status: number;
  idx: number;
  uri: string;
}

export interface StatusCheckOptions {
  /** The issuer's keys: both the token and the list are verified with them. */
  key: KeySource;
  /** The verification time (default: the system clock), for the token and the list alike. */
  clock?: Clock;
  maxBytes?: number;
  /** The token's expected `typ` (default `at+jwt`, RFC 9068: what the authority issues). */
  typ?: string;
  /** The token's required `iss`, when given. */
  issuer?: string | readonly string[];
  /** Seconds of leeway for the token's exp/nbf/iat and the list's exp and age (default 0). */
  clockTolerance?: number;
  /** Accept a list without exp that is older than its ttl (see checkStatusListFresh). */
  allowStale?: boolean;
  /** Maximum age of a list with neither exp nor ttl (default DEFAULT_STATUS_LIST_MAX_AGE). */
  maxListAge?: number;
}

/**
 * The token half of a status check, shared by a check from a list file and one through StatusListClient:
 * signature with `key`, `typ`, `exp`/`nbf`/`iat`, `iss` when given (the JOSE core's verifyJwt).
 */
export function verifyStatusReferencedToken(
  token: string,
  opts: StatusCheckOptions,
): { payload: Record<string, unknown>; resolver: ReturnType<typeof toResolver> } {
  const resolver = toResolver(opts.key);
  const { payload } = verifyJwt(token, resolver, {
    algorithms: ALGS,
    typ: opts.typ ?? ACCESS_TOKEN_TYP,
    ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
    ...(opts.clockTolerance !== undefined ? { clockTolerance: opts.clockTolerance } : {}),
    clock: opts.clock ?? systemClock,
    maxTokenSize: MAX_JWS_SIZE,
  });
  return { payload, resolver };
}

/**
 * Decides a token's status fully offline from a previously downloaded status list token. The token is verified
 * by the JOSE core (signature with `key`, `typ`, `exp`/`nbf`/`iat`, `iss` when given): a revocation check must
 * never call an expired or mistyped token valid. The list is verified with the same keys, must not be past its
 * exp nor stale, and its sub must be the token's list uri.
 * Resolves for VALID; throws ERR_TOKEN_REVOKED / ERR_TOKEN_SUSPENDED otherwise.
 */
export function checkStatusOffline(
  token: string,
  listToken: string,
  opts: StatusCheckOptions,
): StatusCheckResult {
  const clock = opts.clock ?? systemClock;
  const { payload, resolver } = verifyStatusReferencedToken(token, opts);
  const ref = readStatusReference(payload);
  const verified = verifyStatusListToken(listToken, {
    key: resolver,
    uri: ref.uri,
    clock,
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    ...(opts.clockTolerance !== undefined ? { clockTolerance: opts.clockTolerance } : {}),
    ...(opts.allowStale !== undefined ? { allowStale: opts.allowStale } : {}),
    ...(opts.maxListAge !== undefined ? { maxAge: opts.maxListAge } : {}),
  });
  const status = verified.list.get(ref.idx);
  if (status === STATUS_INVALID) throw new TokenRevokedError('the status list marks this token as revoked');
  if (status === STATUS_SUSPENDED)
    throw new TokenSuspendedError('the status list marks this token as suspended');
  if (status !== STATUS_VALID)
    throw new TokenRevokedError(
      `the status list gives this token status 0x${status.toString(16)}, not valid`,
    );
  return { status, idx: ref.idx, uri: ref.uri };
}
