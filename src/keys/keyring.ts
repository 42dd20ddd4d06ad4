import type { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import {
  JwksMultipleMatchingKeysError,
  JwksNoMatchingKeyError,
  KeyringNoActiveKeyError,
} from '../errors/keys.js';
import type { KeySelector, OfftokenKey } from './types.js';

export interface KeyringOptions {
  /** The key new tokens are signed (or sealed) with. */
  active?: OfftokenKey;
  /** Keys that still verify tokens (previous active keys, or keys announced ahead of use). */
  verifyOnly?: readonly OfftokenKey[];
  clock?: Clock;
}

/**
 * One active signing key plus verify-only keys, each usable for verification only inside its own
 * not-before/not-after window. Rotation keeps the previous key verifiable until its retire time, so tokens
 * signed just before a rotation keep verifying (no downtime).
 */
export class Keyring {
  #active: OfftokenKey | undefined;
  readonly #keys = new Map<string, OfftokenKey>();
  readonly #clock: Clock;

  constructor(opts: KeyringOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    for (const k of opts.verifyOnly ?? []) this.add(k);
    if (opts.active) {
      this.add(opts.active);
      this.#active = opts.active;
    }
  }

  /** Adds a verify-only key. Key ids are unique in a keyring. */
  add(key: OfftokenKey): void {
    const existing = this.#keys.get(key.kid);
    if (existing !== undefined && existing !== key)
      throw new InvalidArgumentError(`the keyring already holds kid ${key.kid}`);
    this.#keys.set(key.kid, key);
  }

  /** The key that signs or seals now. */
  signingKey(): OfftokenKey {
    if (this.#active === undefined)
      throw new KeyringNoActiveKeyError('the keyring has no active key: rotate one in');
    return this.#active;
  }

  /** Every key, active first. */
  keys(): OfftokenKey[] {
    const rest = [...this.#keys.values()].filter((k) => k !== this.#active);
    return this.#active ? [this.#active, ...rest] : rest;
  }

  /**
   * Makes `next` the active key. The previous active key stays verify-only; with `retireAfter` (seconds)
   * it stops verifying at now + retireAfter.
   */
  rotate(next: OfftokenKey, opts: { retireAfter?: number } = {}): void {
    const prev = this.#active;
    this.add(next);
    this.#active = next;
    if (prev !== undefined && opts.retireAfter !== undefined)
      this.#keys.set(prev.kid, { ...prev, exp: Math.floor(this.#clock()) + opts.retireAfter });
  }

  /** Removes a key at once: tokens under it stop verifying. The active key cannot be retired. */
  retire(kid: string): void {
    if (this.#active?.kid === kid)
      throw new InvalidArgumentError('the active key cannot be retired: rotate first');
    this.#keys.delete(kid);
  }

  /** Selects the verification key for a token header by kid and alg, honouring each key's nbf/exp. */
  resolveKey(header: KeySelector): OfftokenKey {
    const now = this.#clock();
    const pool =
      header.kid !== undefined
        ? [this.#keys.get(header.kid)].filter((k) => k !== undefined)
        : [...this.#keys.values()];
    const m = pool.filter(
      (k) =>
        (header.alg === undefined ||
          k.alg === header.alg ||
          (header.alg === 'dir' && k.alg === header.enc)) &&
        (k.nbf === undefined || now >= k.nbf) &&
        (k.exp === undefined || now < k.exp),
    );
    if (m.length === 0)
      throw new JwksNoMatchingKeyError('no current key in the keyring matches the token header');
    if (m.length > 1)
      throw new JwksMultipleMatchingKeysError('several keys match; the token must carry a kid');
    return m[0]!;
  }

  resolve(header: KeySelector): KeyObject {
    const k = this.resolveKey(header);
    return (k.publicKey ?? k.secretKey ?? k.privateKey) as KeyObject;
  }
}
