import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { InputTooLargeError } from '../errors/base.js';
import { KeyAlgMismatchError, KeyInvalidError, KeyTooWeakError } from '../errors/keys.js';
import { bindKeyObjects } from './jwk.js';
import type { KeyAlg, OfftokenKey } from './types.js';

/** A 16384-bit RSA PKCS#8 key is about 12.7 KiB of PEM; anything larger is not a key we would use. */
export const MAX_PEM_CHARS = 16 * 1024;

// RFC 7468 5 (PKCS#8, "PRIVATE KEY") and 13 (SPKI, "PUBLIC KEY") only: one block, nothing around it but
// whitespace. Legacy PKCS#1/SEC1 ("RSA PRIVATE KEY", "EC PRIVATE KEY") and encrypted PKCS#8 are refused so
// the label always says what the bytes are.
const PEM = /^\s*-----BEGIN (PRIVATE KEY|PUBLIC KEY)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*$/;

/**
 * Imports a PEM key for one alg: PKCS#8 `PRIVATE KEY` (the public half is derived) or SPKI `PUBLIC KEY`.
 * The key type, curve and size must fit `alg`; `kid` defaults to the RFC 7638 thumbprint.
 */
export function importPem(
  pem: string,
  alg: KeyAlg,
  opts: { kid?: string; public?: boolean } = {},
): OfftokenKey {
  if (typeof pem !== 'string') throw new KeyInvalidError('a PEM key must be a string');
  if (pem.length > MAX_PEM_CHARS)
    throw new InputTooLargeError(`a PEM key exceeds ${MAX_PEM_CHARS} characters`);
  const m = PEM.exec(pem);
  if (m === null) throw new KeyInvalidError('not a PKCS#8 PRIVATE KEY or SPKI PUBLIC KEY PEM block');
  const isPrivate = m[1] === 'PRIVATE KEY';
  if (isPrivate && opts.public)
    throw new KeyInvalidError('private material given where a public key was asked for');
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject;
  try {
    if (isPrivate) {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
      publicKey = createPublicKey(privateKey);
    } else publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new KeyInvalidError('the PEM key material is invalid');
  }
  try {
    return bindKeyObjects(alg, { publicKey, ...(privateKey ? { privateKey } : {}) }, opts.kid);
  } catch (e) {
    if (e instanceof KeyAlgMismatchError || e instanceof KeyTooWeakError || e instanceof KeyInvalidError)
      throw e;
    throw new KeyInvalidError('the PEM key cannot be used');
  }
}

/** Exports PKCS#8 (`{ private: true }`) or SPKI PEM. Secret (oct) keys have no PEM form. */
export function exportPem(key: OfftokenKey, opts: { private?: boolean } = {}): string {
  if (key.kty === 'oct') throw new KeyInvalidError('a secret key has no PEM form; export it as a JWK');
  if (opts.private) {
    if (!key.privateKey) throw new KeyInvalidError('the key has no private part');
    return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }
  if (!key.publicKey) throw new KeyInvalidError('the key has no public part');
  return key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
}
