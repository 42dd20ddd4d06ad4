import { createHmac, KeyObject, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../errors/base.js';
import { OtpFormatError } from '../errors/otp.js';

/** The HMAC behind a code (RFC 4226 for SHA1, RFC 6238 1.2 adds SHA256 and SHA512). */
export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** A shared secret: raw bytes, or a secret KeyObject (imported once, reused for every code). */
export type OtpSecret = Uint8Array | KeyObject;

export interface HotpOptions {
  /** Default SHA1. */
  algorithm?: OtpAlgorithm;
  /** Code length, 6-10 (default 6). */
  digits?: number;
}

export interface VerifyHotpOptions extends HotpOptions {
  /** The counter the code is expected at. */
  counter: number | bigint;
  /** Counters tried after `counter` (RFC 4226 7.4 look-ahead), 0-1000. Default 0. */
  window?: number;
}

/** A matched HOTP code: the counter it was made for and how far that is ahead of the expected one. */
export interface HotpMatch {
  counter: number;
  delta: number;
}

export const HASH: Readonly<Record<OtpAlgorithm, string>> = {
  SHA1: 'sha1',
  SHA256: 'sha256',
  SHA512: 'sha512',
};
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
/** Longest code string looked at; anything longer is refused before any parsing. */
export const MAX_CODE_INPUT = 64;
const MIN_SECRET = 10;
const MAX_SECRET = 1024;
const MAX_COUNTER = 2n ** 64n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// The moving factor and the digits of a candidate are written into buffers reused across calls: every use
// below is synchronous, so no two codes can interleave on them.
const MSG = Buffer.alloc(8);
const CANDIDATE: Buffer[] = POW10.map((_, n) => Buffer.alloc(n));

export function hashOf(algorithm: OtpAlgorithm | undefined): string {
  if (algorithm === undefined) return 'sha1';
  const h = HASH[algorithm];
  if (typeof h !== 'string' || !Object.hasOwn(HASH, algorithm))
    throw new InvalidArgumentError('algorithm must be SHA1, SHA256 or SHA512');
  return h;
}

export function checkDigits(digits: number | undefined): number {
  if (digits === undefined) return 6;
  // RFC 4226 5.3: at least 6 digits; 31 bits of dynamic truncation carry at most 10.
  if (!Number.isInteger(digits) || digits < 6 || digits > 10)
    throw new InvalidArgumentError('digits must be an integer from 6 to 10');
  return digits;
}

/** Checks a secret once; raw bytes are used as the HMAC key as they are (no copy). */
export function checkSecret(secret: OtpSecret): OtpSecret {
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw new InvalidArgumentError('the OTP key must be a secret KeyObject');
    const n = secret.symmetricKeySize ?? 0;
    if (n < MIN_SECRET || n > MAX_SECRET)
      throw new InvalidArgumentError(`the OTP secret must be ${MIN_SECRET}-${MAX_SECRET} bytes`);
    return secret;
  }
  if (!(secret instanceof Uint8Array))
    throw new InvalidArgumentError('the OTP secret must be bytes or a KeyObject');
  // RFC 4226 4 R6 asks for 128 bits (160 recommended); 80 bits is the floor still found in deployed apps.
  if (secret.length < MIN_SECRET || secret.length > MAX_SECRET)
    throw new InvalidArgumentError(`the OTP secret must be ${MIN_SECRET}-${MAX_SECRET} bytes`);
  return secret;
}

/** Writes an 8-byte big-endian moving factor into `out` (RFC 4226 5.2 C, RFC 6287 5.1 C and T). */
export function writeCounter(out: Buffer, offset: number, counter: number | bigint, what = 'counter'): void {
  if (typeof counter === 'bigint') {
    if (counter < 0n || counter > MAX_COUNTER)
      throw new InvalidArgumentError(`${what} must fit 64 unsigned bits`);
    out.writeBigUInt64BE(counter, offset);
    return;
  }
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new InvalidArgumentError(`${what} must be a non-negative safe integer or a bigint`);
  out.writeUInt32BE(Math.floor(counter / 0x100000000), offset);
  out.writeUInt32BE(counter >>> 0, offset + 4);
}

/** RFC 4226 5.3 dynamic truncation of an HMAC to a 31-bit number. */
export function truncate(mac: Buffer): number {
  const off = (mac[mac.length - 1] as number) & 0x0f;
  return mac.readUInt32BE(off) & 0x7fffffff;
}

/** HOTP value of a checked secret at an already-written MSG: one createHmac. */
function valueAt(secret: OtpSecret, hash: string, digits: number): number {
  return truncate(createHmac(hash, secret).update(MSG).digest()) % (POW10[digits] as number);
}

/** HOTP value (as a number) for a checked secret and a safe-integer counter. Internal hot path. */
export function hotpValue(secret: OtpSecret, hash: string, counter: number, digits: number): number {
  MSG.writeUInt32BE(Math.floor(counter / 0x100000000), 0);
  MSG.writeUInt32BE(counter >>> 0, 4);
  return valueAt(secret, hash, digits);
}

export function formatCode(value: number, digits: number): string {
  return value.toString().padStart(digits, '0');
}

/** The ASCII digits of `value` in the reused candidate buffer of length `digits`. */
function candidate(value: number, digits: number): Buffer {
  const b = CANDIDATE[digits] as Buffer;
  for (let i = digits - 1; i >= 0; i--) {
    b[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
  return b;
}

/** Constant-time comparison of a candidate value with the submitted code's ASCII bytes. */
export function valueMatches(value: number, digits: number, given: Buffer): boolean {
  return timingSafeEqual(candidate(value, digits), given);
}

/**
 * A submitted code as ASCII bytes, after the shape checks that need no secret: a string of `digits` decimal
 * digits. Anything else is refused with ERR_OTP_FORMAT before an HMAC is computed.
 */
export function codeBytes(code: unknown, digits: number): Buffer {
  if (typeof code !== 'string' || code.length > MAX_CODE_INPUT)
    throw new OtpFormatError('the code must be a short string of decimal digits');
  if (code.length !== digits) throw new OtpFormatError(`the code must be ${digits} digits`);
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c < 48 || c > 57) throw new OtpFormatError('the code must contain decimal digits only');
  }
  return Buffer.from(code, 'latin1');
}

export function checkWindow(window: number | undefined, fallback: number, max: number, name: string): number {
  if (window === undefined) return fallback;
  if (!Number.isInteger(window) || window < 0 || window > max)
    throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}`);
  return window;
}

/** RFC 4226 HOTP code for `counter`. */
export function hotp(secret: OtpSecret, counter: number | bigint, options: HotpOptions = {}): string {
  const hash = hashOf(options.algorithm);
  const digits = checkDigits(options.digits);
  checkSecret(secret);
  writeCounter(MSG, 0, counter);
  return formatCode(valueAt(secret, hash, digits), digits);
}

/**
 * Checks an HOTP code at `counter` .. `counter + window` (in that order) and returns the first match, or null for
 * a well-formed code that matches nothing; a malformed code throws ERR_OTP_FORMAT. Each comparison is
 * constant-time and a wrong code is compared with every counter, so it always costs the whole window; a right
 * code returns at its counter, which reveals only what the result says anyway. Single use is the caller's job
 * (or OtpValidator's): accept only counters above the last accepted one.
 */
export function verifyHotp(secret: OtpSecret, code: string, options: VerifyHotpOptions): HotpMatch | null {
  const hash = hashOf(options.algorithm);
  const digits = checkDigits(options.digits);
  const window = checkWindow(options.window, 0, 1000, 'window');
  const start = options.counter;
  const first = typeof start === 'bigint' && start >= 0n && start <= MAX_SAFE ? Number(start) : start;
  if (
    typeof first !== 'number' ||
    !Number.isSafeInteger(first) ||
    first < 0 ||
    first + window > Number.MAX_SAFE_INTEGER
  )
    throw new InvalidArgumentError('counter (+ window) must be a non-negative safe integer');
  checkSecret(secret);
  const given = codeBytes(code, digits);
  for (let d = 0; d <= window; d++) {
    if (valueMatches(hotpValue(secret, hash, first + d, digits), digits, given))
      return { counter: first + d, delta: d };
  }
  return null;
}
