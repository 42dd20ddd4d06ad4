import { randomFillSync } from 'node:crypto';
import { InvalidArgumentError } from '../errors/base.js';
import {
  OfflineTokenAudienceError,
  OfflineTokenClaimInvalidError,
  OfflineTokenExpiredError,
  OfflineTokenNotYetValidError,
} from '../errors/offline.js';
import type { ActionParams, GenerateOptions, JsonValue, OfflineAction, OfflineTokenClaims } from './types.js';

// 128-bit jti from the CSPRNG. A pool refilled by one randomFillSync per 256 ids keeps the per-token cost
// off the syscall path without weakening the ids (every byte is still used once).
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;
export function newJti(): string {
  if (poolOffset + 16 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const id = POOL.toString('base64url', poolOffset, poolOffset + 16);
  POOL.fill(0, poolOffset, poolOffset + 16);
  poolOffset += 16;
  return id;
}

const MAX_NAME = 256;
const MAX_PARAMS = 64;

function checkParams(params: unknown, onError: (m: string) => Error): ActionParams {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    throw onError('action params must be an object');
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMS) throw onError(`action params are limited to ${MAX_PARAMS} entries`);
  for (const k of keys) {
    const v = (params as Record<string, unknown>)[k];
    // Floats are refused: 12.5 and "12.50" would authorise different bytes in another language.
    const ok =
      typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));
    if (!ok) throw onError(`action param "${k.slice(0, 64)}" must be a string, boolean or safe integer`);
  }
  return params as ActionParams;
}

export function normaliseAction(
  act: string | OfflineAction | undefined,
  params: ActionParams | undefined,
  onError: (m: string) => Error = (m) => new InvalidArgumentError(m),
): OfflineAction | undefined {
  if (act === undefined) {
    if (params !== undefined) throw onError('params given without an action');
    return undefined;
  }
  const name = typeof act === 'string' ? act : act?.name;
  const p = typeof act === 'string' ? params : (act.params ?? params);
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME)
    throw onError(`the action name must be a non-empty string of at most ${MAX_NAME} characters`);
  return p === undefined ? { name } : { name, params: checkParams(p, onError) };
}

function checkString(v: unknown, what: string): void {
  if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 1024))
    throw new InvalidArgumentError(`${what} must be a non-empty string`);
}

/** Builds the claims set of a new token; field order is fixed so equal inputs give equal bytes. */
export function buildClaims(
  payload: JsonValue | undefined,
  opts: GenerateOptions,
  now: number,
  ttlSeconds: number,
  defaultAudience: string | undefined,
): OfflineTokenClaims {
  const ttl = opts.ttlSeconds ?? ttlSeconds;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    throw new InvalidArgumentError('ttlSeconds must be a positive integer');
  checkString(opts.sub, 'sub');
  checkString(opts.device, 'device');
  if (opts.ctr !== undefined && (!Number.isSafeInteger(opts.ctr) || opts.ctr < 0))
    throw new InvalidArgumentError('ctr must be a non-negative safe integer');
  if (opts.ctr !== undefined && opts.device === undefined && opts.sub === undefined)
    throw new InvalidArgumentError('ctr needs a device (or sub) to count for');
  if (opts.nbf !== undefined && !Number.isSafeInteger(opts.nbf))
    throw new InvalidArgumentError('nbf must be an integer');
  const nbf = opts.nbf ?? now;
  const claims: OfflineTokenClaims = { jti: newJti(), iat: now, nbf, exp: Math.max(now, nbf) + ttl };
  if (opts.sub !== undefined) claims.sub = opts.sub;
  if (opts.device !== undefined) claims.device = opts.device;
  const aud = opts.aud ?? defaultAudience;
  if (aud !== undefined) claims.aud = aud;
  if (opts.ctr !== undefined) claims.ctr = opts.ctr;
  const action = normaliseAction(opts.act, opts.params);
  if (action !== undefined) claims.act = action;
  if (payload !== undefined) {
    // The reader refuses deeper payloads: refuse to mint a token no reader accepts.
    if (!depthOk(payload, 0))
      throw new InvalidArgumentError(`the payload is nested deeper than ${MAX_DEPTH}`);
    claims.dat = payload;
  }
  return claims;
}

const MAX_DEPTH = 32;
function depthOk(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth >= MAX_DEPTH) return false;
  // No Object.values copy: this runs on every read. JSON.parse output has no inherited enumerable keys.
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!depthOk(v[i], depth + 1)) return false;
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) if (!depthOk(o[k], depth + 1)) return false;
  }
  return true;
}

function invalid(m: string): OfflineTokenClaimInvalidError {
  return new OfflineTokenClaimInvalidError(m);
}

export interface ClaimsPolicy {
  now: number;
  tolerance: number;
  audience: string | undefined;
}

/**
 * Checks an authenticated claims set. Every offline token must carry jti/iat/nbf/exp: an offline reader has no
 * revocation list, so expiry is the only thing that ends a leaked token's life.
 */
export function validateClaims(raw: unknown, policy: ClaimsPolicy): OfflineTokenClaims {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid('the token payload is not a JSON object');
  const c = raw as Record<string, unknown>;
  if (typeof c.jti !== 'string' || c.jti.length < 16 || c.jti.length > 128)
    throw invalid('the jti claim is missing or malformed');
  for (const k of ['iat', 'nbf', 'exp'] as const)
    if (typeof c[k] !== 'number' || !Number.isFinite(c[k]))
      throw invalid(`the ${k} claim is missing or not a number`);
  const { now, tolerance } = policy;
  const exp = c.exp as number;
  const nbf = c.nbf as number;
  const iat = c.iat as number;
  // RFC 7519 4.1.4: expired at or after exp (+ tolerance).
  if (now >= exp + tolerance) throw new OfflineTokenExpiredError('the token has expired; ask for a new one');
  // RFC 7519 4.1.5 (nbf), and a token issued in the future is treated the same (clock skew or forgery).
  if (now < nbf - tolerance || now < iat - tolerance)
    throw new OfflineTokenNotYetValidError(
      'the token is not valid yet; check the clocks of issuer and reader',
    );
  for (const k of ['sub', 'device'] as const)
    if (c[k] !== undefined && typeof c[k] !== 'string') throw invalid(`the ${k} claim must be a string`);
  if (c.ctr !== undefined && (!Number.isSafeInteger(c.ctr) || (c.ctr as number) < 0))
    throw invalid('the ctr claim must be a non-negative integer');
  if (c.act !== undefined) {
    const a = c.act as { name?: unknown; params?: unknown } | null;
    if (typeof a !== 'object' || a === null || Array.isArray(a))
      throw invalid('the act claim must be an object');
    normaliseAction(a as OfflineAction, undefined, invalid);
  }
  if (c.dat !== undefined && !depthOk(c.dat, 0))
    throw invalid(`the payload is nested deeper than ${MAX_DEPTH}`);
  // RFC 7519 4.1.3: a reader that is not named in aud rejects the token; a token with an aud is also refused
  // by a reader without one, so a preset's token (provisioning, break-glass) is never accepted as a generic one.
  const aud = c.aud;
  if (aud !== undefined) {
    const list = typeof aud === 'string' ? [aud] : aud;
    if (!Array.isArray(list) || list.some((a) => typeof a !== 'string'))
      throw invalid('the aud claim must be a string or an array of strings');
    if (policy.audience === undefined)
      throw new OfflineTokenAudienceError(
        'the token is for a specific audience; configure the reader with it',
      );
    if (!list.includes(policy.audience))
      throw new OfflineTokenAudienceError('the token is for another audience');
  } else if (policy.audience !== undefined) {
    throw new OfflineTokenAudienceError('the token names no audience but this reader requires one');
  }
  return c as unknown as OfflineTokenClaims;
}
