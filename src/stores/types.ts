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

export interface OtpCredentialStore {
  getCredential(id: string): Promise<OtpCredentialRecord | undefined>;
  /** Resolves false (and changes nothing) when the id already exists. */
  createCredential(record: NewOtpCredential): Promise<boolean>;
  /**
   * Compare-and-set: stores `last` and `drift` and clears failures/lockout only if `last` is strictly
   * greater than the stored value. Resolves false when another verifier got there first (a replay)
   * or the credential is gone.
   */
  recordSuccess(id: string, last: number, drift: number): Promise<boolean>;
  /**
   * Optional one-round-trip form of the compare-and-set, for a validator that decided on a record it
   * remembers instead of one it just read: stores `last` and `drift` and clears failures/lockout only if
   * the stored record still has `expected.last`, `expected.drift` and `expected.sealedSecret`, is not
   * locked at `now` (lockedUntil <= now) and `last` is greater than the stored one - so the decision is
   * the one a fresh read would have given. Resolves false when anything differs; the validator then
   * reads the record and decides again.
   */
  recordSuccessIfUnchanged?(
    id: string,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    now: number,
    last: number,
    drift: number,
  ): Promise<boolean>;
  /**
   * Atomically counts one failure; from the `maxFailures`-th on it sets
   * lockedUntil = now + min(maxDelay, baseDelay * 2^(failures - maxFailures)).
   */
  recordFailure(
    id: string,
    now: number,
    policy: LockoutPolicy,
  ): Promise<{ failures: number; lockedUntil: number }>;
  deleteCredential(id: string): Promise<boolean>;
}

/** Everything `openStore` returns. */
export type OfftokenStore = ReplayStore & CounterStore & OtpCredentialStore & Closable;

/** The lockout length after `failures` consecutive failures (0 while below the threshold). */
export function lockoutDelay(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.maxFailures) return 0;
  const exp = Math.min(failures - policy.maxFailures, 30);
  return Math.min(policy.maxDelay, policy.baseDelay * 2 ** exp);
}
