import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OtpCredentialAlgorithm } from '../stores/types.js';

const HMAC: Record<OtpCredentialAlgorithm, string> = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/** RFC 4226 5.3 HOTP value (dynamic truncation), as a zero-padded ASCII Buffer. */
export function hotpBytes(
  secret: Uint8Array,
  counter: number,
  algorithm: OtpCredentialAlgorithm,
  digits: number,
): Buffer {
  const msg = Buffer.alloc(8);
  msg.writeUInt32BE(Math.floor(counter / 0x100000000), 0);
  msg.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac(HMAC[algorithm], secret).update(msg).digest();
  const off = (mac[mac.length - 1] as number) & 0x0f;
  const bin = mac.readUInt32BE(off) & 0x7fffffff;
  return Buffer.from((bin % (POW10[digits] as number)).toString().padStart(digits, '0'), 'ascii');
}

/** Constant-time equality of two equal-length code buffers. */
export function codeEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
