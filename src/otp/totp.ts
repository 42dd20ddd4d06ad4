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
 * Checks a TOTP code against every step of the window. All steps are computed and compared in constant time
 * whatever matches, so a wrong code costs the whole window and the timing says nothing about which step (or how
 * many digits) matched. Returns the match nearest the current step, or null for a well-formed code that matches
 * nothing; a malformed code throws ERR_OTP_FORMAT. Single use (RFC 6238 5.2: "the verifier MUST NOT accept the
 * second attempt of the OTP") needs state: use OtpValidator, or keep the last accepted step yourself.
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
  let best = Number.POSITIVE_INFINITY;
  for (let d = -past; d <= future; d++) {
    const step = current + d;
    if (step < 0) continue;
    const ok = valueMatches(hotpValue(secret, hash, step, digits), digits, given);
    if (ok && Math.abs(d) < Math.abs(best)) best = d;
  }
  return best === Number.POSITIVE_INFINITY ? null : { step: current + best, delta: best };
}
