import { KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
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
  OtpAttempt,
  OtpAttemptInput,
  OtpCredentialAlgorithm,
  OtpCredentialRecord,
  OtpCredentialStore,
  OtpCredentialType,
} from '../stores/types.js';
import { base32Encode } from './base32.js';
import { codeEquals, hotpBytes } from './credential_codes.js';
import { openSecret, sealSecret } from './credential_seal.js';
import { formatCode, HASH, hotpValue, valueMatches } from './hotp.js';
import { checkQrText } from './qr.js';
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
  /**
   * Answer an unknown id, and a code whose length is not the credential's, exactly as a wrong code
   * (ERR_OTP_INVALID, same message, after evaluating a dummy code), so a caller facing untrusted parties does
   * not tell which ids exist. Default false: ERR_OTP_UNKNOWN_CREDENTIAL and ERR_OTP_FORMAT.
   */
  hideUnknownIds?: boolean;
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
  /** The URI will be shown as a QR code: refuse (ERR_INPUT_TOO_LARGE) before storing if it does not fit one. */
  qr?: boolean;
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

/** The ASCII codes of HOTP counters `from` .. `from + codes.length - 1` for one secret, algorithm and length. */
interface HotpTable {
  from: number;
  codes: Buffer[];
  hash: string;
  digits: number;
}

interface CacheEntry {
  sealed: string;
  secret: Buffer;
  rec?: OtpCredentialRecord;
  hotp?: HotpTable;
}

/**
 * Stateful OTP validator (RFC 4226 / RFC 6238) over a credential store: single use (compare-and-set of
 * the last accepted step/counter), TOTP drift learning, HOTP look-ahead and resync, lockout with
 * growing back-off. A code is only evaluated after the store admitted the attempt (counted in advance as a
 * failure, refused while locked), so concurrent guesses cannot outrun the lockout (docs/stores.md).
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
  readonly #hideUnknown: boolean;
  readonly #cache = new Map<string, CacheEntry>();
  // Evaluated in place of a credential for an unknown id (hideUnknownIds), so both take the same work.
  readonly #dummySecret = randomBytes(20);

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
    this.#hideUnknown = o.hideUnknownIds === true;
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
    // Built (and so checked: no colon, control, bidi control or only invisible characters in issuer/account,
    // a URI the parser accepts, and a QR code that holds it) before anything is stored.
    const uri = buildOtpauthUri({
      type,
      secret,
      account: e.account ?? e.id,
      ...(e.issuer ? { issuer: e.issuer } : {}),
      algorithm,
      digits,
      ...(type === 'totp' ? { period } : { counter: 0 }),
    });
    if (e.qr === true) checkQrText(uri);
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

  #entry(rec: OtpCredentialRecord): CacheEntry {
    const hit = this.#cache.get(rec.id);
    if (hit !== undefined && hit.sealed === rec.sealedSecret) return hit;
    const secret = openSecret(rec.sealedSecret, this.#key, rec.id);
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    const entry: CacheEntry = { sealed: rec.sealedSecret, secret };
    this.#cache.set(rec.id, entry);
    return entry;
  }

  // The codes of the look-ahead counters last + 1 .. last + lookAhead, kept per credential for the decision
  // taken before the store answers: a success moves the window by one counter, so it costs one new HMAC.
  #hotpTable(entry: CacheEntry, rec: OtpCredentialRecord, hash: string): HotpTable {
    const from = rec.last + 1;
    let t = entry.hotp;
    if (
      t === undefined ||
      t.hash !== hash ||
      t.digits !== rec.digits ||
      from < t.from ||
      from > t.from + t.codes.length
    ) {
      t = { from, codes: [], hash, digits: rec.digits };
      entry.hotp = t;
    } else if (from > t.from) {
      t.codes.splice(0, from - t.from);
      t.from = from;
    }
    while (t.codes.length < this.#lookAhead) {
      const c = t.from + t.codes.length;
      t.codes.push(
        Buffer.from(formatCode(hotpValue(entry.secret, hash, c, rec.digits), rec.digits), 'latin1'),
      );
    }
    return t;
  }

  // Format errors are decided before the store is touched and are NOT counted as failures: a code of
  // the wrong shape can never match, so it gives an attacker no guess and must not let one lock a user out.
  static #checkShape(code: unknown): asserts code is string {
    if (typeof code !== 'string' || code.length > MAX_CODE_INPUT) {
      throw new OtpFormatError('the code must be a short string of decimal digits');
    }
    if (!/^[0-9]{6,10}$/.test(code)) throw new OtpFormatError('the code must be 6-10 decimal digits');
  }

  #attempt(digits: number, now: number): OtpAttemptInput {
    return { now, policy: this.#lockout, digits };
  }

  /** The admitted record, or the refusal the store's answer means (nothing was counted for any of them). */
  #admitted(a: OtpAttempt, id: string, code: string, now: number): OtpCredentialRecord {
    switch (a.status) {
      case 'admitted':
        return a.record;
      case 'locked': {
        const hit = this.#cache.get(id);
        if (hit?.rec !== undefined) hit.rec = { ...hit.rec, lockedUntil: a.lockedUntil };
        throw new OtpLockedError(
          `too many failed attempts; try again after ${new Date(a.lockedUntil * 1000).toISOString()}`,
          a.lockedUntil,
        );
      }
      case 'format':
        if (this.#hideUnknown) throw new OtpInvalidError('the code is not valid');
        throw new OtpFormatError(`the code must be ${a.digits} digits`);
      default:
        this.#cache.delete(id);
        if (!this.#hideUnknown) throw new OtpUnknownCredentialError('no OTP credential with this id');
        // The work a wrong code costs on a TOTP credential, so the answer's timing does not tell either.
        this.#decide(this.#dummy(code.length), { sealed: '', secret: this.#dummySecret }, code, now);
        throw new OtpInvalidError('the code is not valid');
    }
  }

  #dummy(digits: number): OtpCredentialRecord {
    return {
      id: '',
      type: 'totp',
      algorithm: 'SHA1',
      digits,
      period: 30,
      sealedSecret: '',
      last: -1,
      drift: 0,
      failures: 0,
      lockedUntil: 0,
      createdAt: 0,
    };
  }

  /**
   * The decision taken on a remembered record before the store has admitted the attempt. Its work does not
   * depend on the code: every TOTP step of the window and every HOTP look-ahead counter is compared, in
   * constant time, so while the credential is locked the time to the store's refusal cannot tell a right
   * code from a wrong one (docs/stores.md). A HOTP rejection here is only "no success": whether it was a
   * replay is decided after admission.
   */
  #guess(rec: OtpCredentialRecord, entry: CacheEntry, code: string, now: number): Decision {
    if (rec.type !== 'hotp') return this.#decide(rec, entry, code, now);
    const t = this.#hotpTable(entry, rec, HASH[rec.algorithm]);
    const given = Buffer.from(code, 'latin1');
    let matched = -1;
    for (let i = 0; i < t.codes.length; i++) {
      if (timingSafeEqual(t.codes[i] as Buffer, given) && matched < 0) matched = t.from + i;
    }
    if (matched < 0) return INVALID;
    return { last: matched, drift: 0, result: { ok: true, type: 'hotp', counter: matched, drift: 0 } };
  }

  /**
   * Which step/counter `code` matches on `rec`, or why it is refused. Pure: the store is not touched, so
   * the same decision can be taken on a remembered record and confirmed by a conditional write.
   */
  #decide(rec: OtpCredentialRecord, entry: CacheEntry, code: string, now: number): Decision {
    const secret = entry.secret;
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
    const attempt = this.#attempt(code.length, now);
    // Fast path, one store round trip: decide on the record this validator remembers and let the store
    // accept only if that record is still the stored one, unlocked and below the failure threshold - or else
    // admit the attempt in the same call. A rejection goes straight to the admission. Either way no answer
    // is given before the store admitted or accepted the attempt; a TOTP rejection decided on a remembered
    // record is reused only when the admitted record has the same inputs (a HOTP one is decided again, to
    // tell a replay).
    const known = this.#cache.get(id);
    const rec0 = known?.rec;
    let guess: Decision | undefined;
    let a: OtpAttempt | undefined;
    if (known !== undefined && rec0 !== undefined && rec0.lockedUntil <= now && code.length === rec0.digits) {
      guess = this.#guess(rec0, known, code, now);
      const acceptIf = this.#store.acceptIfUnchanged;
      if (guess.result !== undefined && acceptIf !== undefined) {
        const r = await acceptIf.call(this.#store, id, attempt, rec0, guess.last, guess.drift);
        if (r.status === 'accepted') {
          this.#remember(rec0, { last: guess.last, drift: guess.drift });
          return guess.result;
        }
        a = r;
      }
    }
    a ??= await this.#store.admitAttempt(id, attempt);
    const rec = this.#admitted(a, id, code, now);
    const d =
      guess !== undefined &&
      guess.result === undefined &&
      rec.type === 'totp' &&
      rec0 !== undefined &&
      rec0.last === rec.last &&
      rec0.drift === rec.drift &&
      rec0.sealedSecret === rec.sealedSecret
        ? guess
        : this.#decide(rec, this.#entry(rec), code, now);
    if (d.result === undefined) {
      // Already counted by the admission: a wrong or replayed code needs no second write.
      this.#remember(rec);
      if (d.replayed) throw new OtpReplayedError('this code was already used');
      throw new OtpInvalidError('the code is not valid');
    }
    if (!(await this.#store.recordSuccess(id, d.last, d.drift))) {
      throw new OtpReplayedError('this code was already used');
    }
    this.#remember(rec, { last: d.last, drift: d.drift });
    return d.result;
  }

  /**
   * Clears a credential's failures and lockout (an operator's decision, e.g. after a user was locked out by
   * someone else's wrong codes); the secret, the last accepted step/counter and the drift are kept, so a used
   * code stays used. ERR_OTP_UNKNOWN_CREDENTIAL for an unknown id.
   */
  async unlock(id: string): Promise<void> {
    checkId(id);
    const unlock = this.#store.unlockCredential;
    if (unlock === undefined) throw new InvalidArgumentError('this store cannot unlock credentials');
    this.#cache.delete(id);
    if (!(await unlock.call(this.#store, id)))
      throw new OtpUnknownCredentialError('no OTP credential with this id');
  }

  /** Removes a credential. ERR_OTP_UNKNOWN_CREDENTIAL for an unknown id. */
  async delete(id: string): Promise<void> {
    checkId(id);
    this.#cache.delete(id);
    if (!(await this.#store.deleteCredential(id)))
      throw new OtpUnknownCredentialError('no OTP credential with this id');
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
    checkArgs(id, now);
    if (code1.length !== code2.length) throw new OtpFormatError('the two codes must have the same length');
    // The type never changes for a stored credential: read it first so a resync of a TOTP credential is
    // refused without being counted.
    const pre = await this.#store.getCredential(id);
    if (pre !== undefined && pre.type !== 'hotp')
      throw new InvalidArgumentError('resync applies to HOTP credentials only');
    const rec = this.#admitted(
      await this.#store.admitAttempt(id, this.#attempt(code1.length, now)),
      id,
      code1,
      now,
    );
    if (rec.type !== 'hotp') throw new InvalidArgumentError('resync applies to HOTP credentials only');
    const secret = this.#entry(rec).secret;
    const g1 = Buffer.from(code1, 'ascii');
    const g2 = Buffer.from(code2, 'ascii');
    let found = -1;
    let prev = hotpBytes(secret, rec.last + 1, rec.algorithm, rec.digits);
    for (let c = rec.last + 1; c <= rec.last + this.#resyncWindow; c++) {
      const next = hotpBytes(secret, c + 1, rec.algorithm, rec.digits);
      if (found < 0 && codeEquals(prev, g1) && codeEquals(next, g2)) found = c + 1;
      prev = next;
    }
    this.#remember(rec);
    if (found < 0) throw new OtpInvalidError('the code is not valid');
    if (!(await this.#store.recordSuccess(id, found, 0)))
      throw new OtpReplayedError('these codes were already used');
    this.#remember(rec, { last: found, drift: 0 });
    return { ok: true, type: 'hotp', counter: found, drift: 0 };
  }
}
