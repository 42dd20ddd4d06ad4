import { createDecipheriv, type KeyObject } from 'node:crypto';
import { isBase64url } from '../../encoding/base64url.js';
import { InputTooLargeError } from '../../errors/base.js';
import {
  JoseKeyMismatchError,
  JoseNotSupportedError,
  JweDecryptionFailedError,
  JweInvalidError,
} from '../../errors/jose.js';
import { DEFAULT_MAX_TOKEN, parseProtectedHeader, validateCrit } from '../lib/header.js';
import type { JweEnc, JwsHeader, KeyResolver } from '../types.js';
import { ecdhEsDecryptionKey } from './ecdh-es.js';
import { cipherFor, ENC_KEY_BYTES } from './encrypt.js';

export interface JweDecryptOptions {
  maxTokenSize?: number;
  crit?: readonly string[];
}

const malformed = (m: string) => new JweInvalidError(m);

/**
 * Decrypts a compact JWE: alg `dir` (a secret key) or `ECDH-ES` (the recipient's X25519 or P-256 private key),
 * with AES-GCM. The key decides which alg it serves, never the header (RFC 8725 3.1). `zip` is refused (no
 * inflation bombs).
 */
export function decryptJwe(
  token: string,
  key: KeyObject | KeyResolver,
  opts: JweDecryptOptions = {},
): { header: JwsHeader; plaintext: Buffer } {
  if (typeof token !== 'string') throw new JweInvalidError('the token must be a string');
  const max = opts.maxTokenSize ?? DEFAULT_MAX_TOKEN;
  if (token.length > max) throw new InputTooLargeError(`the token exceeds ${max} characters`);
  const parts = token.split('.');
  if (parts.length !== 5) throw new JweInvalidError('a compact JWE has exactly five parts');
  const [h, ek, ivS, ctS, tagS] = parts as [string, string, string, string, string];
  const header = parseProtectedHeader(h, malformed);
  if (header.alg !== 'dir' && header.alg !== 'ECDH-ES')
    throw new JoseNotSupportedError('only alg dir and ECDH-ES are accepted for JWE');
  // RFC 7518 4.5 / 4.6: both are direct, with an empty encrypted-key segment.
  if (ek !== '') throw new JweInvalidError(`alg ${header.alg} has an empty encrypted key`);
  if (header.zip !== undefined) throw new JoseNotSupportedError('compressed (zip) JWE is not accepted');
  validateCrit(header, opts.crit);
  const k = typeof key === 'function' ? key(header) : key;
  let cek: KeyObject | Buffer = k;
  let cipherName: string;
  if (header.alg === 'ECDH-ES') {
    if (k.type === 'secret') throw new JoseKeyMismatchError('ECDH-ES needs a private key, not a secret');
    // A secret key never meets an ECDH-ES header and a private key never a dir one: no alg confusion.
    const bytes = Object.hasOwn(ENC_KEY_BYTES, String(header.enc))
      ? ENC_KEY_BYTES[header.enc as JweEnc]
      : undefined;
    if (bytes === undefined) throw new JoseNotSupportedError('enc must be A128GCM, A192GCM or A256GCM');
    cek = ecdhEsDecryptionKey(k, header as Record<string, unknown>, header.enc as string, bytes * 8);
    cipherName = `aes-${bytes * 8}-gcm`;
  } else cipherName = cipherFor(header.enc, k);
  if (!isBase64url(ivS) || !isBase64url(ctS) || !isBase64url(tagS))
    throw new JweInvalidError('the token is not base64url');
  const iv = Buffer.from(ivS, 'base64url');
  const tag = Buffer.from(tagS, 'base64url');
  if (iv.length !== 12 || tag.length !== 16)
    throw new JweInvalidError('AES-GCM needs a 96-bit IV and a 128-bit tag');
  try {
    const d = createDecipheriv(cipherName as 'aes-256-gcm', cek, iv, { authTagLength: 16 });
    d.setAAD(Buffer.from(h, 'latin1'));
    d.setAuthTag(tag);
    const out = d.update(Buffer.from(ctS, 'base64url'));
    d.final();
    return { header, plaintext: out };
  } catch {
    throw new JweDecryptionFailedError('the token does not decrypt: tampered, truncated or another key');
  }
}
