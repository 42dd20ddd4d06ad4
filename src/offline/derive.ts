import { createHash, createSecretKey, hkdfSync, type KeyObject, scryptSync } from 'node:crypto';
import { InvalidArgumentError } from '../errors/base.js';

/**
 * Turning a shared secret into the key of one mode.
 *
 * - raw key bytes (>= 16 bytes, e.g. from `keys generate`) -> HKDF-SHA256 (RFC 5869), info names the mode,
 *   so the same secret never serves as both an AES-GCM key and an HMAC key.
 * - a passphrase (a string) -> scrypt (RFC 7914, N=2^15, r=8, p=1) to a 32-byte master -> the HKDF step above.
 *   Passphrases are low-entropy: the work factor is what stands between a stolen token and a guessed password.
 *
 * The positional constructor `(secret, aesBits, ...)` has nowhere to keep a random salt, and two machines that
 * share only a password must derive the same key. Its salt is therefore the SHA-256 of a fixed label: it still
 * separates offtoken from every other scrypt user, but not one offtoken deployment from another, so a
 * precomputed dictionary works against every deployment that picked the same password. Prefer a key file, or
 * pass `salt` (stored next to the configuration) with the options form.
 */
export const FIXED_SCRYPT_SALT: Buffer = createHash('sha256')
  .update('offtoken positional scrypt salt v1')
  .digest();

export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** HKDF info strings; part of the token format (docs/formats/offline-token.md). */
export const HKDF_INFO = { sealed: 'offtoken sealed v1', mac: 'offtoken mac v1' } as const;

/** Shortest raw secret accepted: 128 bits, the smallest AES key. */
export const MIN_RAW_SECRET_BYTES = 16;

export interface DeriveOptions {
  /** `sealed` (AES-GCM key of `bits`) or `mac` (a 256-bit HMAC key). */
  mode: 'sealed' | 'mac';
  /** AES key size for sealed mode: 128, 192 or 256 (default 256). */
  bits?: 128 | 192 | 256;
  /** scrypt salt for a passphrase; defaults to FIXED_SCRYPT_SALT (see above). */
  salt?: Uint8Array;
}

/** Derives the mode key from a passphrase (string) or raw key bytes. Slow for passphrases by design: call once. */
export function deriveOfflineKey(secret: string | Uint8Array, options: DeriveOptions): KeyObject {
  const bits = options.mode === 'mac' ? 256 : (options.bits ?? 256);
  if (bits !== 128 && bits !== 192 && bits !== 256)
    throw new InvalidArgumentError('aesBits must be 128, 192 or 256');
  let ikm: Buffer;
  if (typeof secret === 'string') {
    if (secret.length === 0) throw new InvalidArgumentError('the passphrase is empty');
    const salt = options.salt ?? FIXED_SCRYPT_SALT;
    if (salt.length < 16) throw new InvalidArgumentError('the scrypt salt must be at least 16 bytes');
    ikm = scryptSync(secret.normalize('NFC'), salt, 32, SCRYPT_PARAMS);
  } else if (secret instanceof Uint8Array) {
    if (secret.length < MIN_RAW_SECRET_BYTES)
      throw new InvalidArgumentError(`a raw secret must be at least ${MIN_RAW_SECRET_BYTES} bytes`);
    ikm = Buffer.from(secret);
  } else {
    throw new InvalidArgumentError('the secret must be a passphrase string or raw key bytes');
  }
  const okm = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), HKDF_INFO[options.mode], bits / 8));
  ikm.fill(0);
  return createSecretKey(okm);
}
