import { timingSafeEqual } from 'node:crypto';
import type { OtpCredentialAlgorithm } from '../stores/types.js';
import { formatCode, HASH, hotpValue } from './hotp.js';

/** RFC 4226 5.3 HOTP value (dynamic truncation), as a zero-padded ASCII Buffer (one implementation: ./hotp.ts). */
export function hotpBytes(
  secret: Uint8Array,
  counter: number,
  algorithm: OtpCredentialAlgorithm,
  digits: number,
): Buffer {
  return Buffer.from(formatCode(hotpValue(secret, HASH[algorithm], counter, digits), digits), 'latin1');
}

/** Constant-time equality of two equal-length code buffers. */
export function codeEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
