import { InvalidArgumentError } from '../errors/base.js';
import {
  checkDigits,
  checkSecret,
  codeBytes,
  formatCode,
  type HotpOptions,
  hashOf,
  hotpValue,
  type OtpSecret,
  valueMatches,
} from './hotp.js';

export interface TotpOptions extends HotpOptions {
  /** Time step X in seconds (RFC 6238 4.1), 1-86400. Default 30. */
  period?: number;
  /** T0, the unix time steps count from (RFC 6238 4.1). Default 0. */
  t0?: number;
  /** The time to compute the code for, unix seconds (may be fractional). Default: now. */
  now?: number;
}

export interface VerifyTotpOptions extends TotpOptions {
  /**
   * Steps accepted around the current one (RFC 6238 5.2): a number for the same on both sides, or
   * `[past, future]`. Each side 0-100. Default 1.
   */
  window?: number | readonly [number, number];
}

/** A matched TOTP code: its time step, and how many steps it is from the current one (negative: older). */
export interface TotpMatch {
  step: number;
  delta: number;
}

const MAX_WINDOW = 100;

/** RFC 6238 4.2: T = floor((now - T0) / X). */
export function totpStep(options: Pick<TotpOptions, 'period' | 't0' | 'now'> = {}): number {
  const period = options.period ?? 30;
  const t0 = options.t0 ?? 0;
  const now = options.now ?? Date.now() / 1000;
  if (!Number.isInteger(period) || period < 1 || period > 86400)
    throw new InvalidArgumentError('period must be an integer from 1 to 86400 seconds');
  if (typeof t0 !== 'number' || !Number.isSafeInteger(t0))
    throw new InvalidArgumentError('t0 must be unix seconds');
  if (typeof now !== 'number' || !Number.isFinite(now))
    throw new InvalidArgumentError('now must be unix seconds');
  const step = Math.floor((now - t0) / period);
  if (step < 0 || !Number.isSafeInteger(step)) throw new InvalidArgumentError('now must not be before t0');
  return step;
}

/** RFC 6238 TOTP code at `options.now` (default: the current time). */
export function totp(secret: OtpSecret, options: TotpOptions = {}): string {
  const hash = hashOf(options.algorithm);
  const digits = checkDigits(options.digits);
  const step = totpStep(options);
  checkSecret(secret);
  return formatCode(hotpValue(secret, hash, step, digits), digits);
}

function sides(window: VerifyTotpOptions['window']): [number, number] {
  if (window === undefined) return [1, 1];
  const [past, future] = typeof window === 'number' ? [window, window] : Array.isArray(window) ? window : [];
  for (const w of [past, future]) {
    if (!Number.isInteger(w) || (w as number) < 0 || (w as number) > MAX_WINDOW)
      throw new InvalidArgumentError(`window must be an integer 0-${MAX_WINDOW} or [past, future] of those`);
  }
  return [past as number, future as number];
}

/**
 * Checks a TOTP code against the steps of the window, nearest first (0, -1, +1, -2, ...), and returns the first
 * match, or null for a well-formed code that matches nothing; a malformed code throws ERR_OTP_FORMAT.
 * Each comparison is constant-time and a wrong code is compared with every step, so it always costs the whole
 * window: timing tells an attacker nothing about a wrong guess. A right code returns at its step, which reveals
 * only what the result says anyway (accepted, and the step). Single use (RFC 6238 5.2: "the verifier MUST NOT
 * accept the second attempt of the OTP") needs state: use OtpValidator, or keep the last accepted step yourself.
 */
export function verifyTotp(
  secret: OtpSecret,
  code: string,
  options: VerifyTotpOptions = {},
): TotpMatch | null {
  const hash = hashOf(options.algorithm);
  const digits = checkDigits(options.digits);
  const [past, future] = sides(options.window);
  const current = totpStep(options);
  checkSecret(secret);
  const given = codeBytes(code, digits);
  const widest = past > future ? past : future;
  for (let k = 0; k <= widest; k++) {
    if (
      k <= past &&
      current - k >= 0 &&
      valueMatches(hotpValue(secret, hash, current - k, digits), digits, given)
    )
      return { step: current - k, delta: k === 0 ? 0 : -k };
    if (k > 0 && k <= future && valueMatches(hotpValue(secret, hash, current + k, digits), digits, given))
      return { step: current + k, delta: k };
  }
  return null;
}
