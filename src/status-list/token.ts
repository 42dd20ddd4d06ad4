import { createPublicKey, type KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import {
  AuthoritySignatureError,
  StatusListInvalidError,
  StatusListMismatchError,
  TokenRevokedError,
  TokenSuspendedError,
} from '../errors/server.js';
import { decodeCompact, signCompact, verifyDecoded } from './jws.js';
import { STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID, StatusList } from './list.js';

/** draft-ietf-oauth-status-list 5.1: the media type's JWT typ. */
export const STATUS_LIST_TYP = 'statuslist+jwt';
const ALGS = ['ES256', 'EdDSA'] as const;

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

function toResolver(src: KeySource): (header: { kid?: string; alg: string }) => KeyObject {
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
}

/** Verifies a status list token (draft 8.3): typ, signature, sub, iat, exp; then decodes the list. */
export function verifyStatusListToken(token: string, opts: VerifyStatusListOptions): VerifiedStatusList {
  const d = decodeCompact(token, opts.maxTokenSize ?? 8 * 1024 * 1024);
  if (d.header.typ !== STATUS_LIST_TYP) throw new StatusListInvalidError(`typ must be ${STATUS_LIST_TYP}`);
  const key = toResolver(opts.key)(d.header);
  verifyDecoded(d, key, ALGS);
  const { sub, iat, exp, ttl, status_list } = d.payload;
  if (typeof sub !== 'string') throw new StatusListInvalidError('status list token has no sub');
  if (typeof iat !== 'number') throw new StatusListInvalidError('status list token has no iat');
  if (exp !== undefined && typeof exp !== 'number') throw new StatusListInvalidError('exp is not a number');
  if (ttl !== undefined && (typeof ttl !== 'number' || ttl < 0))
    throw new StatusListInvalidError('ttl is not a positive number');
  const now = (opts.clock ?? systemClock)();
  if (exp !== undefined && now >= exp) throw new StatusListInvalidError('status list token has expired');
  if (opts.uri !== undefined && sub !== opts.uri)
    throw new StatusListMismatchError('status list sub does not match the referenced uri');
  const list = StatusList.decode(status_list, opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {});
  return {
    uri: sub,
    iat,
    ...(exp !== undefined ? { exp } : {}),
    ...(ttl !== undefined ? { ttl } : {}),
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

/**
 * Decides a token's status fully offline from a previously downloaded status list token: both the token and
 * the list are verified with `key` (the issuer's JWKS), the list's sub must be the token's list uri.
 * Resolves for VALID; throws ERR_TOKEN_REVOKED / ERR_TOKEN_SUSPENDED otherwise.
 */
export function checkStatusOffline(
  token: string,
  listToken: string,
  opts: { key: KeySource; clock?: Clock; maxBytes?: number },
): StatusCheckResult {
  const resolver = toResolver(opts.key);
  const d = decodeCompact(token);
  verifyDecoded(d, resolver(d.header), ALGS);
  const ref = readStatusReference(d.payload);
  const verified = verifyStatusListToken(listToken, {
    key: resolver,
    uri: ref.uri,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
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
