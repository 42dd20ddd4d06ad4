import type { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { KeyringNoActiveKeyError } from '../errors/keys.js';
import { buildJwks, generateKey } from './jwk.js';
import { headerSelector, keyMatches, selectKey } from './select.js';
import type { Jwks, KeySelector, OfftokenKey } from './types.js';

export interface KeyringOptions {
  /** The key new tokens are signed (or sealed) with. */
  active?: OfftokenKey;
  /** Keys that still verify tokens (previous active keys, or keys announced ahead of use). */
  verifyOnly?: readonly OfftokenKey[];
  clock?: Clock;
}

/**
 * One active signing key plus verify-only keys, each usable for verification only inside its own
 * not-before/not-after window (`nbf` <= now < `exp`). Rotation keeps the previous key verifiable until its
 * retire time, so tokens signed just before a rotation keep verifying (no downtime); announcing the next key
 * with `add()` ahead of `rotate()` lets verifiers that fetch the JWKS learn it before the first token.
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
    if (typeof key?.kid !== 'string' || key.kid.length === 0)
      throw new InvalidArgumentError('a keyring key needs a kid');
    const existing = this.#keys.get(key.kid);
    if (existing !== undefined && existing !== key)
      throw new InvalidArgumentError(`the keyring already holds kid ${key.kid}`);
    this.#keys.set(key.kid, key);
  }

  /** The key that signs or seals now; it must be inside its own validity window. */
  signingKey(): OfftokenKey {
    const k = this.#active;
    if (k === undefined) throw new KeyringNoActiveKeyError('the keyring has no active key: rotate one in');
    if (!keyMatches(k, {}, this.#clock()))
      throw new KeyringNoActiveKeyError('the active key is outside its validity window: rotate');
    return k;
  }

  /** Every key still held, active first (including keys not yet or no longer inside their window). */
  keys(): OfftokenKey[] {
    const rest = [...this.#keys.values()].filter((k) => k !== this.#active);
    return this.#active ? [this.#active, ...rest] : rest;
  }

  /**
   * Makes `next` the active key (default: a fresh key of the active key's alg). The previous active key stays
   * verify-only; with `retireAfter` (seconds) it stops verifying at now + retireAfter. Returns the new key.
   */
  rotate(next?: OfftokenKey, opts: { retireAfter?: number } = {}): OfftokenKey {
    const prev = this.#active;
    if (opts.retireAfter !== undefined && !(Number.isFinite(opts.retireAfter) && opts.retireAfter >= 0))
      throw new InvalidArgumentError('retireAfter must be a non-negative number of seconds');
    let key = next;
    if (key === undefined) {
      if (prev === undefined) throw new KeyringNoActiveKeyError('rotate() needs a key: the keyring is empty');
      key = generateKey(prev.alg);
    }
    this.add(key);
    this.#active = key;
    if (prev !== undefined && prev !== key && opts.retireAfter !== undefined)
      this.#setNotAfter(prev, Math.floor(this.#clock()) + opts.retireAfter);
    return key;
  }

  /**
   * Retires a verify-only key: at once (it is removed, tokens under it stop verifying), or from `at` (unix
   * seconds) on. The active key cannot be retired: rotate first.
   */
  retire(kid: string, opts: { at?: number } = {}): void {
    if (this.#active?.kid === kid)
      throw new InvalidArgumentError('the active key cannot be retired: rotate first');
    const k = this.#keys.get(kid);
    if (k === undefined) return;
    if (opts.at === undefined) this.#keys.delete(kid);
    else this.#setNotAfter(k, opts.at);
  }

  #setNotAfter(k: OfftokenKey, at: number): void {
    // Never extend a key's life: an earlier not-after wins.
    const exp = k.exp === undefined ? at : Math.min(k.exp, at);
    this.#keys.set(k.kid, { ...k, exp });
  }

  /** Selects the verification key by kid/alg (and use), honouring each key's nbf/exp at the clock's now. */
  resolveKey(sel: KeySelector): OfftokenKey {
    return selectKey(this.#keys.values(), sel, this.#clock());
  }

  /** The KeyResolver for verifyJws/verifyJwt: selection by the header's kid and alg only. */
  resolve(header: KeySelector): KeyObject {
    const k = this.resolveKey(headerSelector(header));
    return (k.publicKey ?? k.secretKey ?? k.privateKey) as KeyObject;
  }

  /** The public JWKS to publish: every asymmetric key not yet past its not-after (announced keys included). */
  jwks(): Jwks {
    const now = this.#clock();
    return buildJwks(this.keys().filter((k) => k.exp === undefined || now < k.exp));
  }
}
