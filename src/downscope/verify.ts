import { createSecretKey, type KeyObject } from 'node:crypto';
import type { CelBudget } from '../cel/budget.js';
import { type CelEngine, type CelProgram, celEngineFor } from '../cel/engine.js';
import { type Clock, systemClock } from '../clock.js';
import {
  type AsymmetricAlg,
  isAsymmetricAlg,
  parseCompact,
  parsePayloadObject,
  verifySignature,
} from '../dpop/jws.js';
import { InvalidArgumentError } from '../errors/base.js';
import {
  DownscopeDeniedError,
  DownscopeExpiredError,
  DownscopeInvalidError,
  DownscopeResourceInvalidError,
  DownscopeWidensGrantError,
} from '../errors/dpop.js';
import { openDir, peekHeader } from './jwe.js';
import { type AccessRule, narrows, nonCanonicalResource, parseRules } from './rules.js';

export const MAX_DOWNSCOPED_TOKEN_SIZE = 32_768;

export interface VerifyDownscopedOptions {
  /** The authority's public key, or a resolver by JWS header (e.g. a LocalJwks/Keyring `.resolve`). */
  intermediaryVerifier: KeyObject | ((header: Record<string, unknown>) => KeyObject);
  /** The resource servers' AES-256 key, or a resolver by kid. */
  rsKey: KeyObject | ((kid: string) => KeyObject | undefined);
  issuer?: string;
  audience?: string;
  algorithms?: AsymmetricAlg[];
  /** When given, enforce: some rule must allow this permission on this resource. */
  resource?: string;
  permission?: string;
  clock?: Clock;
  /** The budget holder-written conditions are evaluated under (default: DEFAULT_CEL_BUDGET). */
  celBudget?: Partial<CelBudget>;
}

export interface VerifiedDownscopedToken {
  sub: string;
  grant: AccessRule[];
  rules: AccessRule[];
  exp: number;
  intermediaryExp: number;
}

const bad = (why: string) => new DownscopeInvalidError(`invalid downscoped token: ${why}`);

interface OpenedIntermediary {
  /** The exact intermediary bytes this entry was verified from. */
  token: string;
  sub: string;
  exp: number;
  grant: AccessRule[];
  sessionKey: KeyObject;
}

/** Verifies the intermediary and unwraps its session key (everything except the time check). */
function openIntermediary(intermediary: string, o: VerifyDownscopedOptions): OpenedIntermediary {
  let claims: Record<string, unknown>;
  try {
    const p = parseCompact(intermediary, MAX_DOWNSCOPED_TOKEN_SIZE);
    const alg = p.header.alg;
    if (
      p.header.typ !== 'intermediary+jwt' ||
      !isAsymmetricAlg(alg) ||
      (o.algorithms && !o.algorithms.includes(alg)) ||
      p.header.crit !== undefined
    ) {
      throw new Error('header');
    }
    const key =
      typeof o.intermediaryVerifier === 'function'
        ? o.intermediaryVerifier(p.header)
        : o.intermediaryVerifier;
    if (!verifySignature(alg, key, p)) throw new Error('sig');
    // duplicate claim names are refused like duplicate header names (same error below)
    claims = parsePayloadObject(p.payload) as typeof claims;
  } catch {
    throw bad('the intermediary token does not verify');
  }
  if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || typeof claims.sk !== 'string')
    throw bad('intermediary claims missing');
  if (o.issuer !== undefined && claims.iss !== o.issuer) throw bad('wrong issuer');
  if (o.audience !== undefined && claims.aud !== o.audience) throw bad('wrong audience');
  const grant = parseRules(claims.grant, false);
  let sessionKey: KeyObject;
  try {
    const kid = peekHeader(claims.sk).kid;
    const rsKey =
      typeof o.rsKey === 'function' ? (typeof kid === 'string' ? o.rsKey(kid) : undefined) : o.rsKey;
    if (!rsKey) throw new Error('kid');
    const sk = openDir(claims.sk, rsKey);
    if (sk.length !== 32) throw new Error('len');
    sessionKey = createSecretKey(sk);
  } catch {
    throw bad('the session key does not open with the resource-server key');
  }
  return { token: intermediary, sub: claims.sub, exp: claims.exp, grant, sessionKey };
}

/**
 * Resource-server side: verify the intermediary (signature, iss/aud, exp), recover the session key from it
 * (no per-token state), open the boundary, check every rule only narrows the grant, then enforce it.
 */
export function verifyDownscopedToken(token: string, o: VerifyDownscopedOptions): VerifiedDownscopedToken {
  return verifyWith(token, o, undefined, engineFor(o));
}

const engineFor = (o: VerifyDownscopedOptions): CelEngine => celEngineFor(o.celBudget);

const INTERMEDIARY_CACHE_SIZE = 1024;

/**
 * A resource server's verifier with fixed options: an intermediary is verified and its session key unwrapped
 * once, then reused for every token derived from it (a bounded cache keyed by the exact intermediary bytes;
 * the expiry is still checked on every call).
 */
export class DownscopedTokenVerifier {
  readonly #o: VerifyDownscopedOptions;
  readonly #cache = new Map<string, OpenedIntermediary>();
  readonly #cel: CelEngine;
  constructor(options: Omit<VerifyDownscopedOptions, 'resource' | 'permission'>) {
    const { resource: _r, permission: _p, ...rest } = options as VerifyDownscopedOptions;
    this.#o = rest;
    this.#cel = engineFor(rest);
  }
  verify(token: string, request: { resource?: string; permission?: string } = {}): VerifiedDownscopedToken {
    return verifyWith(token, this.#o, this.#cache, this.#cel, request);
  }
}

function verifyWith(
  token: string,
  o: VerifyDownscopedOptions,
  cache: Map<string, OpenedIntermediary> | undefined,
  cel: CelEngine,
  request: { resource?: string; permission?: string } = o,
): VerifiedDownscopedToken {
  if (typeof token !== 'string' || token.length > MAX_DOWNSCOPED_TOKEN_SIZE)
    throw bad('not a string within 32 KiB');
  const tilde = token.indexOf('~');
  if (tilde < 1 || token.indexOf('~', tilde + 1) !== -1) throw bad('expected <intermediary>~<boundary>');
  const now = (o.clock ?? systemClock)();
  // The cache is looked up by the intermediary's signature segment (short to hash) and a hit must match the
  // intermediary byte for byte: a signature pasted onto another header or payload is never taken as verified.
  let opened: OpenedIntermediary | undefined;
  let sigKey: string | undefined;
  if (cache) {
    sigKey = token.slice(token.lastIndexOf('.', tilde) + 1, tilde);
    const hit = cache.get(sigKey);
    if (hit && hit.token.length === tilde && token.startsWith(hit.token)) opened = hit;
  }
  if (!opened) {
    opened = openIntermediary(token.slice(0, tilde), o);
    if (cache && sigKey !== undefined) {
      if (cache.size >= INTERMEDIARY_CACHE_SIZE) cache.clear();
      cache.set(sigKey, opened);
    }
  }
  if (now >= opened.exp) throw new DownscopeExpiredError('the intermediary token has expired');
  const { grant, sessionKey } = opened;
  const claims = { sub: opened.sub, exp: opened.exp };
  let boundary: { rules?: unknown; exp?: unknown };
  try {
    boundary = parsePayloadObject(openDir(token.slice(tilde + 1), sessionKey));
  } catch {
    throw bad('the access boundary does not decrypt: tampered or sealed under another session key');
  }
  const rules = parseRules(boundary.rules, true);
  if (typeof boundary.exp !== 'number') throw bad('boundary exp missing');
  if (boundary.exp > claims.exp)
    throw new DownscopeExpiredError('the downscoped token outlives its intermediary');
  if (now >= boundary.exp) throw new DownscopeExpiredError('the downscoped token has expired');
  for (const r of rules) {
    if (!narrows(r, grant))
      throw new DownscopeWidensGrantError('an access-boundary rule grants more than the original grant');
  }
  const resource = request.resource;
  const permission = request.permission;
  if (resource !== undefined || permission !== undefined) {
    if (typeof resource !== 'string' || typeof permission !== 'string')
      throw new InvalidArgumentError('resource and permission go together');
    const why = nonCanonicalResource(resource);
    if (why) throw new DownscopeResourceInvalidError(`the requested resource name holds ${why}`);
    const allowed = rules.some((r) => {
      if (!resource.startsWith(r.resource_prefix) || !r.permissions.includes(permission)) return false;
      if (r.condition === undefined) return true;
      // The holder writes the condition and the resource server runs it: under the CEL budget, which
      // refuses with ERR_CEL_COST_EXCEEDED. A condition that errors (missing field, bad syntax) denies.
      let prog: CelProgram;
      try {
        prog = cel.compile(r.condition, (why) => new DownscopeDeniedError(why));
      } catch (e) {
        if (e instanceof DownscopeDeniedError) return false;
        throw e;
      }
      const v = prog.evaluate({ resource: cel.input(resource), permission: cel.input(permission), now });
      return 'value' in v && v.value === true;
    });
    if (!allowed)
      throw new DownscopeDeniedError('the access boundary does not allow this permission on this resource');
  }
  return { sub: claims.sub, grant, rules, exp: boundary.exp, intermediaryExp: claims.exp };
}
