import { createSecretKey, type KeyObject } from 'node:crypto';
import { type Clock, nowSeconds, systemClock } from '../clock.js';
import { decodeBase64url } from '../encoding/base64url.js';
import { InvalidArgumentError } from '../errors/base.js';
import { DownscopeExpiredError } from '../errors/dpop.js';
import { sealDir } from './jwe.js';
import type { AccessRule } from './rules.js';

/**
 * A client-side deriver: imports the session key once, then seals any number of boundaries offline.
 * Each token = `<intermediary>~<JWE dir A256GCM of {rules, exp}>`, a fresh IV per token.
 */
export class DownscopedTokenDeriver {
  readonly #intermediary: string;
  readonly #key: KeyObject;
  readonly #exp: number;
  readonly #clock: Clock;

  constructor(intermediary: string, sessionKey: string, opts: { clock?: Clock } = {}) {
    if (typeof intermediary !== 'string' || intermediary.includes('~'))
      throw new InvalidArgumentError('intermediary must be a compact JWS');
    const sk = decodeBase64url(sessionKey, 'session key');
    if (sk.length !== 32) throw new InvalidArgumentError('the session key must be 32 bytes');
    this.#intermediary = intermediary;
    this.#key = createSecretKey(sk);
    // The client reads (not verifies: it has no reason to distrust its own authority) the intermediary's exp.
    const payload = JSON.parse(
      decodeBase64url(intermediary.split('.')[1] ?? '', 'intermediary').toString('utf8'),
    ) as { exp?: unknown };
    if (typeof payload.exp !== 'number') throw new InvalidArgumentError('intermediary has no exp');
    this.#exp = payload.exp;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Seals a boundary. `expiresIn` (s) is capped at the intermediary's exp: a derived token never outlives it. */
  derive(rules: AccessRule[], opts: { expiresIn?: number } = {}): string {
    const now = nowSeconds(this.#clock);
    if (now >= this.#exp)
      throw new DownscopeExpiredError('the intermediary token has expired: exchange a new one');
    const exp = opts.expiresIn === undefined ? this.#exp : Math.min(this.#exp, now + opts.expiresIn);
    return `${this.#intermediary}~${sealDir(JSON.stringify({ rules, exp }), this.#key, {})}`;
  }
}

/** One-shot form of `DownscopedTokenDeriver.derive`; reuse a deriver for many tokens. */
export function deriveDownscopedToken(
  intermediary: string,
  sessionKey: string,
  boundary: AccessRule[],
  opts: { expiresIn?: number; clock?: Clock } = {},
): string {
  return new DownscopedTokenDeriver(intermediary, sessionKey, opts.clock ? { clock: opts.clock } : {}).derive(
    boundary,
    opts.expiresIn === undefined ? {} : { expiresIn: opts.expiresIn },
  );
}
