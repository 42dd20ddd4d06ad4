import { createSecretKey } from 'node:crypto';
import { type Clock, nowSeconds, systemClock } from '../clock.js';
import { decodeBase64url } from '../encoding/base64url.js';
import { InvalidArgumentError } from '../errors/base.js';
import { DownscopeExpiredError } from '../errors/dpop.js';
import { DirSealer } from './jwe.js';
import { type AccessRule, parseRules } from './rules.js';

/**
 * A client-side deriver: imports the session key once, then seals any number of boundaries offline.
 * Each token = `<intermediary>~<JWE dir A256GCM of {rules, exp}>`, a fresh IV per token.
 */
export class DownscopedTokenDeriver {
  readonly #sealer: DirSealer;
  readonly #prefix: string;
  readonly #exp: number;
  readonly #clock: Clock;

  constructor(intermediary: string, sessionKey: string, opts: { clock?: Clock } = {}) {
    if (typeof intermediary !== 'string' || intermediary.includes('~'))
      throw new InvalidArgumentError('intermediary must be a compact JWS');
    const sk = decodeBase64url(sessionKey, 'session key');
    if (sk.length !== 32) throw new InvalidArgumentError('the session key must be 32 bytes');
    this.#prefix = `${intermediary}~`;
    this.#sealer = new DirSealer(createSecretKey(sk), {});
    // The client reads (not verifies: it has no reason to distrust its own authority) the intermediary's exp.
    let payload: { exp?: unknown } | null;
    try {
      payload = JSON.parse(
        decodeBase64url(intermediary.split('.')[1] ?? '', 'intermediary').toString('utf8'),
      ) as { exp?: unknown } | null;
    } catch {
      throw new InvalidArgumentError('intermediary must be a compact JWS');
    }
    if (typeof payload?.exp !== 'number') throw new InvalidArgumentError('intermediary has no exp');
    this.#exp = payload.exp;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Seals a boundary. `expiresIn` (s) is capped at the intermediary's exp: a derived token never outlives it. */
  derive(rules: AccessRule[], opts: { expiresIn?: number } = {}): string {
    const now = nowSeconds(this.#clock);
    if (now >= this.#exp)
      throw new DownscopeExpiredError('the intermediary token has expired: exchange a new one');
    const exp = opts.expiresIn === undefined ? this.#exp : Math.min(this.#exp, now + opts.expiresIn);
    // structural limits are checked here too, so a malformed boundary fails at the client, not later
    return this.#prefix + this.#sealer.seal(JSON.stringify({ rules: parseRules(rules, true), exp }));
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
