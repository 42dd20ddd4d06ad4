import { createDecipheriv, type KeyObject } from 'node:crypto';
import { isBase64url } from '../../encoding/base64url.js';
import { InputTooLargeError } from '../../errors/base.js';
import { JoseNotSupportedError, JweDecryptionFailedError, JweInvalidError } from '../../errors/jose.js';
import { DEFAULT_MAX_TOKEN, parseProtectedHeader, validateCrit } from '../lib/header.js';
import type { JwsHeader, KeyResolver } from '../types.js';
import { cipherFor } from './encrypt.js';

export interface JweDecryptOptions {
  maxTokenSize?: number;
  crit?: readonly string[];
}

const malformed = (m: string) => new JweInvalidError(m);

/** Decrypts a compact `dir` JWE. Only alg `dir` with AES-GCM is accepted; `zip` is refused (no inflation bombs). */
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
  if (header.alg !== 'dir') throw new JoseNotSupportedError('only alg dir is accepted for JWE');
  if (ek !== '') throw new JweInvalidError('alg dir has an empty encrypted key');
  if (header.zip !== undefined) throw new JoseNotSupportedError('compressed (zip) JWE is not accepted');
  validateCrit(header, opts.crit);
  const k = typeof key === 'function' ? key(header) : key;
  const cipherName = cipherFor(header.enc, k);
  if (!isBase64url(ivS) || !isBase64url(ctS) || !isBase64url(tagS))
    throw new JweInvalidError('the token is not base64url');
  const iv = Buffer.from(ivS, 'base64url');
  const tag = Buffer.from(tagS, 'base64url');
  if (iv.length !== 12 || tag.length !== 16)
    throw new JweInvalidError('AES-GCM needs a 96-bit IV and a 128-bit tag');
  try {
    const d = createDecipheriv(cipherName as 'aes-256-gcm', k, iv, { authTagLength: 16 });
    d.setAAD(Buffer.from(h, 'latin1'));
    d.setAuthTag(tag);
    const out = d.update(Buffer.from(ctS, 'base64url'));
    d.final();
    return { header, plaintext: out };
  } catch {
    throw new JweDecryptionFailedError('the token does not decrypt: tampered, truncated or another key');
  }
}
