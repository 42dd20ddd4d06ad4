import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';

/**
 * RFC 9449 8/9: server-provided `DPoP-Nonce` values, stateless: nonce = window || HMAC(secret, window).
 * A nonce is accepted in its own window and the one after it, so rotation never strands a client
 * mid-request; several servers sharing the secret accept each other's nonces without shared state.
 */
export class DpopNonceManager {
  readonly #secret: Buffer;
  readonly #period: number;
  readonly #clock: Clock;

  constructor(opts: { secret?: Uint8Array; rotationSeconds?: number; clock?: Clock } = {}) {
    this.#secret = Buffer.from(opts.secret ?? randomBytes(32));
    if (this.#secret.length < 32)
      throw new InvalidArgumentError('the nonce secret must be at least 32 bytes');
    this.#period = opts.rotationSeconds ?? 300;
    if (!Number.isInteger(this.#period) || this.#period < 1)
      throw new InvalidArgumentError('rotationSeconds must be a positive integer');
    this.#clock = opts.clock ?? systemClock;
  }

  #window(): number {
    return Math.floor(this.#clock() / this.#period);
  }

  #mac(w: number): Buffer {
    return createHmac('sha256', this.#secret).update(`dpop-nonce:${w}`).digest().subarray(0, 16);
  }

  /** The current nonce (send it in `DPoP-Nonce`). */
  current(): string {
    const w = this.#window();
    return `${w.toString(36)}.${this.#mac(w).toString('base64url')}`;
  }

  /** True for a nonce this manager issued in the current or previous window. */
  isValid(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length > 64) return false;
    const dot = nonce.indexOf('.');
    if (dot < 1) return false;
    const w = Number.parseInt(nonce.slice(0, dot), 36);
    const now = this.#window();
    if (!Number.isSafeInteger(w) || w.toString(36) !== nonce.slice(0, dot) || (w !== now && w !== now - 1))
      return false;
    const got = Buffer.from(nonce.slice(dot + 1), 'base64url');
    const want = this.#mac(w);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
