/**
 * The small state interfaces that verifiers depend on. A verifier never knows whether its replay
 * cache is a Map, SQLite or Redis: the backends in this folder implement these, and any user
 * object with the same methods works too.
 *
 * Times are unix seconds. Every method is atomic across all processes that share the backend.
 */
export interface ReplayStore {
  /**
   * Remembers `key` in `namespace` until `expiresAt`. Resolves true the first time the key is seen
   * (or after its previous entry expired), false when it is already held: the caller rejects a replay.
   */
  consumeOnce(namespace: string, key: string, expiresAt: number): Promise<boolean>;
}

export interface CounterStore {
  /**
   * Moves the counter of `key` in `namespace` to `value` if and only if `value` is strictly greater
   * than the stored one (a missing counter counts as -1). Resolves true when it advanced.
   */
  advanceCounter(namespace: string, key: string, value: number): Promise<boolean>;
}

export interface Closable {
  close(): Promise<void>;
}

export type OtpCredentialType = 'totp' | 'hotp';
export type OtpCredentialAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** What a store keeps per OTP credential. The secret is only ever held sealed (a JWE compact string). */
export interface OtpCredentialRecord {
  id: string;
  type: OtpCredentialType;
  algorithm: OtpCredentialAlgorithm;
  digits: number;
  /** TOTP period in seconds (ignored for HOTP). */
  period: number;
  /** JWE compact `dir`+A256GCM of the raw secret, the credential id bound in the protected header. */
  sealedSecret: string;
  /** Last accepted TOTP time step or HOTP counter; -1 before the first success. */
  last: number;
  /** Learned TOTP drift in steps (0 for HOTP). */
  drift: number;
  /** Consecutive failures since the last success. */
  failures: number;
  /** Unix seconds until which verification is refused (0 = not locked). */
  lockedUntil: number;
  createdAt: number;
}

export type NewOtpCredential = Omit<OtpCredentialRecord, 'last' | 'drift' | 'failures' | 'lockedUntil'>;

export interface LockoutPolicy {
  /** Failures before the first lockout. */
  maxFailures: number;
  /** Lockout length (s) at the first lockout; doubles with each further failure. */
  baseDelay: number;
  /** Upper bound (s) of one lockout. */
  maxDelay: number;
}

/** What a verification attempt tells the store: when, under which lockout policy, with a code of how many digits. */
export interface OtpAttemptInput {
  /** Unix seconds (may be fractional). */
  now: number;
  policy: LockoutPolicy;
  /** The submitted code's length; a credential with another digit count refuses it uncounted. */
  digits: number;
}

/** The store's answer to one attempt (`admitAttempt`, and `acceptIfUnchanged` when its condition fails). */
export type OtpAttempt =
  /** No credential with this id. Nothing written. */
  | { status: 'unknown' }
  /** Locked at `now` (lockedUntil > now). Nothing written: the code must not be evaluated. */
  | { status: 'locked'; lockedUntil: number }
  /** The credential has `digits` digits, not the code's length. Nothing written: such a code is no guess. */
  | { status: 'format'; digits: number }
  /**
   * Admitted, and already counted as a failure: `record` is the state after failures + 1 (and the lock, if that
   * reached maxFailures). A success then clears it with `recordSuccess`; a wrong code needs no second write.
   */
  | { status: 'admitted'; record: OtpCredentialRecord };

/**
 * The state behind `OtpValidator`. The lockout rule every implementation keeps: a code is evaluated only
 * after its attempt was admitted by one atomic step that refuses while locked and otherwise counts the
 * attempt as a failure (locking at maxFailures) before the code is looked at; a success written without such
 * an admission (`acceptIfUnchanged`) requires, in the same atomic step, that the credential is not locked and
 * `failures` is below maxFailures. So however many verifies run at once, at most maxFailures codes are
 * evaluated per lock window, and none is accepted once the threshold is reached.
 */
export interface OtpCredentialStore {
  getCredential(id: string): Promise<OtpCredentialRecord | undefined>;
  /** Resolves false (and changes nothing) when the id already exists. */
  createCredential(record: NewOtpCredential): Promise<boolean>;
  /**
   * One atomic step: `unknown`, `locked` (lockedUntil > now) or `format` (digits differ) without writing;
   * otherwise failures += 1 and, from the maxFailures-th on,
   * lockedUntil = floor(now) + min(maxDelay, baseDelay * 2^(failures - maxFailures)), and the new record.
   */
  admitAttempt(id: string, attempt: OtpAttemptInput): Promise<OtpAttempt>;
  /**
   * After an admitted attempt matched: stores `last` and `drift` and clears failures/lockout only if `last` is
   * strictly greater than the stored value (compare-and-set). Resolves false when another verifier got there
   * first (a replay) or the credential is gone. Never call it for an attempt that was not admitted.
   */
  recordSuccess(id: string, last: number, drift: number): Promise<boolean>;
  /**
   * Optional one-round-trip success, for a validator that decided on a record it remembers instead of one
   * it just read. One atomic step: if the stored record still has `expected.last`, `expected.drift` and
   * `expected.sealedSecret`, is not locked (lockedUntil <= now), has failures < maxFailures and `last` is
   * greater than the stored one, stores `last`/`drift`, clears failures/lockout and resolves `accepted`.
   * Otherwise nothing was written, and it admits the attempt exactly as `admitAttempt` does (an atomic step of
   * its own) and resolves that answer.
   */
  acceptIfUnchanged?(
    id: string,
    attempt: OtpAttemptInput,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    last: number,
    drift: number,
  ): Promise<OtpAttempt | { status: 'accepted' }>;
  deleteCredential(id: string): Promise<boolean>;
  /**
   * Optional (the CLI's `otp list`): every credential id, sorted, at most `limit` of them. The built-in stores
   * implement it.
   */
  listCredentialIds?(limit: number): Promise<string[]>;
  /**
   * Optional (the CLI's `otp unlock`): one atomic step that sets failures and lockedUntil to 0, keeping the
   * secret, last and drift. Resolves false when the id does not exist. The built-in stores implement it.
   */
  unlockCredential?(id: string): Promise<boolean>;
}

/** Everything `openStore` returns. */
export type OfftokenStore = ReplayStore & CounterStore & OtpCredentialStore & Closable;

/** The lockout length after `failures` consecutive failures (0 while below the threshold). */
export function lockoutDelay(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.maxFailures) return 0;
  const exp = Math.min(failures - policy.maxFailures, 30);
  return Math.min(policy.maxDelay, policy.baseDelay * 2 ** exp);
}
