import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../errors/base.js';
import type { OtpAlgorithm } from './hotp.js';

/** RFC 4226 4 R6 recommends a 160-bit secret for SHA-1; for SHA-256/512 the hash length (RFC 2104 3). */
export const SECRET_LENGTH: Readonly<Record<OtpAlgorithm, number>> = { SHA1: 20, SHA256: 32, SHA512: 64 };

/** A new shared secret from the CSPRNG: by default 20 bytes for SHA1, 32 for SHA256, 64 for SHA512. */
export function generateOtpSecret(algorithm: OtpAlgorithm = 'SHA1', length?: number): Buffer {
  const fallback = SECRET_LENGTH[algorithm];
  if (!Object.hasOwn(SECRET_LENGTH, algorithm))
    throw new InvalidArgumentError('algorithm must be SHA1, SHA256 or SHA512');
  const n = length ?? fallback;
  if (!Number.isInteger(n) || n < 16 || n > 128)
    throw new InvalidArgumentError('secret length must be 16-128 bytes');
  return randomBytes(n);
}
