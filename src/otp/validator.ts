import { KeyObject } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import {
  OtpCredentialExistsError,
  OtpFormatError,
  OtpInvalidError,
  OtpLockedError,
  OtpReplayedError,
  OtpUnknownCredentialError,
} from '../errors/otp.js';
import type {
  LockoutPolicy,
  OtpCredentialAlgorithm,
  OtpCredentialRecord,
  OtpCredentialStore,
  OtpCredentialType,
} from '../stores/types.js';
import { base32Encode } from './base32.js';
import { codeEquals, hotpBytes } from './credential_codes.js';
import { openSecret, sealSecret } from './credential_seal.js';
import { HASH, hotpValue, valueMatches } from './hotp.js';
import { generateOtpSecret, SECRET_LENGTH } from './secret.js';
import { buildOtpauthUri } from './uri.js';

export interface OtpValidatorOptions {
  store: OtpCredentialStore;
  /** 32-byte AES-256-GCM key (raw bytes or a secret KeyObject) that seals every credential secret. */
  storeKey: Uint8Array | KeyObject;
  clock?: Clock;
  /** TOTP: steps accepted either side of the expected step (after drift). Default 1. */
  window?: number;
  /** HOTP: counters tried ahead of the last accepted one. Default 10. */
  hotpLookAhead?: number;
  /** TOTP: largest learned drift, in steps. Default 10. */
  maxDrift?: number;
  /** HOTP resync: counters searched for the two consecutive codes. Default 100. */
  resyncWindow?: number;
  lockout?: Partial<LockoutPolicy>;
  /** Decrypted secrets kept in memory (bounded, oldest evicted). Default 10,000. */
  cacheSize?: number;
}

export interface EnrollOptions {
  id: string;
  type?: OtpCredentialType;
  algorithm?: OtpCredentialAlgorithm;
  digits?: number;
  period?: number;
  /** Raw secret; default: CSPRNG, 20 bytes for SHA1, the hash length otherwise (RFC 4226 4 R6). */
  secret?: Uint8Array;
  issuer?: string;
  account?: string;
}

export type VerifyResult =
  | { ok: true; type: 'totp'; step: number; drift: number }
  | { ok: true; type: 'hotp'; counter: number; drift: 0 };

const MAX_ID = 256;
const MAX_CODE_INPUT = 64;
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return true;
  return false;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID || hasControl(id)) {
    throw new InvalidArgumentError(`credential id must be 1-${MAX_ID} printable characters`);
  }
}

function checkArgs(id: unknown, now: unknown): asserts id is string {
  checkId(id);
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new InvalidArgumentError('now must be unix seconds');
  }
}

/** A verify's outcome before the store is written: the step/counter to record, or why it is refused. */
type Decision =
  | { last: number; drift: number; result: VerifyResult; replayed?: undefined }
  | { last?: undefined; drift?: undefined; result?: undefined; replayed: boolean };
const REPLAYED: Decision = { replayed: true };
const INVALID: Decision = { replayed: false };

/**
 * Stateful OTP validator (RFC 4226 / RFC 6238) over a credential store: single use (compare-and-set of
 * the last accepted step/counter), TOTP drift learning, HOTP look-ahead and resync, lockout with
 * growing back-off. Each verify does one store read and one atomic store write.
 */
export class OtpValidator {
  readonly #store: OtpCredentialStore;
  readonly #key: Buffer;
  readonly #clock: Clock;
  readonly #window: number;
  readonly #lookAhead: number;
  readonly #maxDrift: number;
  readonly #resyncWindow: number;
  readonly #lockout: LockoutPolicy;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, { sealed: string; secret: Buffer; rec?: OtpCredentialRecord }>();

  constructor(o: OtpValidatorOptions) {
    const key = o.storeKey instanceof KeyObject ? o.storeKey.export() : Buffer.from(o.storeKey);
    if (key.length !== 32) throw new InvalidArgumentError('storeKey must be 32 bytes (A256GCM)');
    this.#store = o.store;
    this.#key = key;
    this.#clock = o.clock ?? systemClock;
    this.#window = o.window ?? 1;
    this.#lookAhead = o.hotpLookAhead ?? 10;
    this.#maxDrift = o.maxDrift ?? 10;
    this.#resyncWindow = o.resyncWindow ?? 100;
    this.#lockout = {
      maxFailures: o.lockout?.maxFailures ?? 5,
      baseDelay: o.lockout?.baseDelay ?? 30,
      maxDelay: o.lockout?.maxDelay ?? 3600,
    };
    this.#cacheSize = o.cacheSize ?? 10_000;
    for (const [n, v] of [
      ['window', this.#window],
      ['hotpLookAhead', this.#lookAhead],
      ['maxDrift', this.#maxDrift],
      ['resyncWindow', this.#resyncWindow],
    ] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 1000)
        throw new InvalidArgumentError(`${n} must be an integer 0-1000`);
    }
  }

  async enroll(e: EnrollOptions): Promise<{ secret: Uint8Array; secretBase32: string; uri: string }> {
    checkId(e.id);
    const type = e.type ?? 'totp';
    const algorithm = e.algorithm ?? 'SHA1';
    const digits = e.digits ?? 6;
    const period = e.period ?? 30;
    if (type !== 'totp' && type !== 'hotp') throw new InvalidArgumentError('type must be totp or hotp');
    if (!Object.hasOwn(SECRET_LENGTH, algorithm))
      throw new InvalidArgumentError('algorithm must be SHA1, SHA256 or SHA512');
    if (!Number.isInteger(digits) || digits < 6 || digits > 10)
      throw new InvalidArgumentError('digits must be 6-10');
    if (!Number.isInteger(period) || period < 1 || period > 3600)
      throw new InvalidArgumentError('period must be 1-3600');
    const secret = e.secret ? Buffer.from(e.secret) : generateOtpSecret(algorithm);
    if (secret.length < 16 || secret.length > 128)
      throw new InvalidArgumentError('secret must be 16-128 bytes');
    // Built (and so checked: no colon or control character in issuer/account) before anything is stored.
    const uri = buildOtpauthUri({
      type,
      secret,
      account: e.account ?? e.id,
      ...(e.issuer ? { issuer: e.issuer } : {}),
      algorithm,
      digits,
      ...(type === 'totp' ? { period } : { counter: 0 }),
    });
    const created = await this.#store.createCredential({
      id: e.id,
      type,
      algorithm,
      digits,
      period,
      sealedSecret: sealSecret(secret, this.#key, e.id),
      createdAt: Math.floor(this.#clock()),
    });
    if (!created) throw new OtpCredentialExistsError('a credential with this id already exists');
    return { secret, secretBase32: base32Encode(secret, { padding: false }), uri };
  }

  #secret(rec: OtpCredentialRecord): Buffer {
    const hit = this.#cache.get(rec.id);
    if (hit !== undefined && hit.sealed === rec.sealedSecret) return hit.secret;
    const secret = openSecret(rec.sealedSecret, this.#key, rec.id);
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(rec.id, { sealed: rec.sealedSecret, secret });
    return secret;
  }

  // Format errors are decided before the store is touched and are NOT counted as failures: a code of
  // the wrong shape can never match, so it gives an attacker no guess and must not let one lock a user out.
  static #checkShape(code: unknown): asserts code is string {
    if (typeof code !== 'string' || code.length > MAX_CODE_INPUT) {
      throw new OtpFormatError('the code must be a short string of decimal digits');
    }
    if (!/^[0-9]{6,10}$/.test(code)) throw new OtpFormatError('the code must be 6-10 decimal digits');
  }

  async #load(id: string, now: number): Promise<OtpCredentialRecord> {
    checkArgs(id, now);
    const rec = await this.#store.getCredential(id);
    if (rec === undefined) throw new OtpUnknownCredentialError('no OTP credential with this id');
    if (rec.lockedUntil > now) {
      throw new OtpLockedError(
        `too many failed attempts; try again after ${new Date(rec.lockedUntil * 1000).toISOString()}`,
        rec.lockedUntil,
      );
    }
    return rec;
  }

  async #fail(id: string, now: number): Promise<never> {
    await this.#store.recordFailure(id, now, this.#lockout);
    throw new OtpInvalidError('the code is not valid');
  }

  /**
   * Which step/counter `code` matches on `rec`, or why it is refused. Pure: the store is not touched, so
   * the same decision can be taken on a remembered record and confirmed by a conditional write.
   */
  #decide(rec: OtpCredentialRecord, code: string, now: number): Decision {
    const secret = this.#secret(rec);
    const given = Buffer.from(code, 'ascii');
    const hash = HASH[rec.algorithm];
    const matches = (counter: number) =>
      valueMatches(hotpValue(secret, hash, counter, rec.digits), rec.digits, given);

    if (rec.type === 'hotp') {
      // RFC 4226 7.4: look ahead from the last accepted counter. Which counter matched is not secret, so
      // the search stops at the first match; counters at or below the last one are only tried on a
      // miss, to tell a replay from a wrong code.
      for (let c = rec.last + 1; c <= rec.last + this.#lookAhead; c++) {
        if (matches(c))
          return { last: c, drift: 0, result: { ok: true, type: 'hotp', counter: c, drift: 0 } };
      }
      let replayed = false;
      for (let c = Math.max(0, rec.last - this.#lookAhead); c <= rec.last; c++) {
        if (matches(c)) replayed = true;
      }
      return replayed ? REPLAYED : INVALID;
    }

    // RFC 6238 6: accept +/-window steps around the step the learned drift predicts, never beyond maxDrift.
    const current = Math.floor(now / rec.period);
    const center = current + rec.drift;
    let matched = Number.NEGATIVE_INFINITY;
    let replayed = false;
    for (let s = center - this.#window; s <= center + this.#window; s++) {
      if (s < 0 || Math.abs(s - current) > this.#maxDrift) continue;
      if (matches(s)) {
        if (s > rec.last) {
          // Prefer the match nearest the current step (several can only match by chance).
          if (!Number.isFinite(matched) || Math.abs(s - current) < Math.abs(matched - current)) matched = s;
        } else replayed = true;
      }
    }
    if (!Number.isFinite(matched)) return replayed ? REPLAYED : INVALID;
    const drift = matched - current;
    return { last: matched, drift, result: { ok: true, type: 'totp', step: matched, drift } };
  }

  // The record as this validator last read or wrote it, kept to decide the next verify of the same
  // credential without a read. It is only a guess: the store confirms it atomically.
  #remember(rec: OtpCredentialRecord, accepted?: { last: number; drift: number }): void {
    const hit = this.#cache.get(rec.id);
    if (hit !== undefined && hit.sealed === rec.sealedSecret) {
      hit.rec = accepted === undefined ? { ...rec } : { ...rec, ...accepted, failures: 0, lockedUntil: 0 };
    }
  }

  async verify(id: string, code: string, options: { now?: number } = {}): Promise<VerifyResult> {
    OtpValidator.#checkShape(code);
    const now = options.now ?? this.#clock();
    checkArgs(id, now);
    // Fast path, one store round trip: decide on the record this validator left after its last success,
    // and let the store accept only if that record is still the stored one (same last step/counter,
    // drift and sealed secret, not locked). Any other outcome - a rejection included - is decided again
    // on a fresh read, so a remembered record can make a verify faster but never change its answer.
    const successIf = this.#store.recordSuccessIfUnchanged;
    const known = successIf === undefined ? undefined : this.#cache.get(id)?.rec;
    let guess: Decision | undefined;
    if (known !== undefined && known.lockedUntil <= now && code.length === known.digits) {
      guess = this.#decide(known, code, now);
      if (
        guess.result !== undefined &&
        (await successIf?.call(this.#store, id, known, now, guess.last, guess.drift))
      ) {
        this.#remember(known, { last: guess.last, drift: guess.drift });
        return guess.result;
      }
    }
    const rec = await this.#load(id, now);
    if (code.length !== rec.digits) throw new OtpFormatError(`the code must be ${rec.digits} digits`);
    // A rejection decided on a record identical in every field it depends on is the same rejection.
    const d =
      guess !== undefined &&
      guess.result === undefined &&
      known !== undefined &&
      known.last === rec.last &&
      known.drift === rec.drift &&
      known.sealedSecret === rec.sealedSecret
        ? guess
        : this.#decide(rec, code, now);
    if (d.result === undefined) {
      this.#remember(rec);
      if (d.replayed) throw new OtpReplayedError('this code was already used');
      return this.#fail(id, now);
    }
    if (!(await this.#store.recordSuccess(id, d.last, d.drift))) {
      throw new OtpReplayedError('this code was already used');
    }
    this.#remember(rec, { last: d.last, drift: d.drift });
    return d.result;
  }

  /** RFC 4226 7.4 resynchronisation: two consecutive HOTP codes found within the larger resync window. */
  async resync(
    id: string,
    code1: string,
    code2: string,
    options: { now?: number } = {},
  ): Promise<VerifyResult> {
    OtpValidator.#checkShape(code1);
    OtpValidator.#checkShape(code2);
    const now = options.now ?? this.#clock();
    const rec = await this.#load(id, now);
    if (rec.type !== 'hotp') throw new InvalidArgumentError('resync applies to HOTP credentials only');
    if (code1.length !== rec.digits || code2.length !== rec.digits) {
      throw new OtpFormatError(`the codes must be ${rec.digits} digits`);
    }
    const secret = this.#secret(rec);
    const g1 = Buffer.from(code1, 'ascii');
    const g2 = Buffer.from(code2, 'ascii');
    let found = -1;
    let prev = hotpBytes(secret, rec.last + 1, rec.algorithm, rec.digits);
    for (let c = rec.last + 1; c <= rec.last + this.#resyncWindow; c++) {
      const next = hotpBytes(secret, c + 1, rec.algorithm, rec.digits);
      if (found < 0 && codeEquals(prev, g1) && codeEquals(next, g2)) found = c + 1;
      prev = next;
    }
    if (found < 0) return this.#fail(id, now);
    if (!(await this.#store.recordSuccess(id, found, 0)))
      throw new OtpReplayedError('these codes were already used');
    this.#remember(rec, { last: found, drift: 0 });
    return { ok: true, type: 'hotp', counter: found, drift: 0 };
  }
}
