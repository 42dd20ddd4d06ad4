import { createCipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { encodeBase64url } from '../../encoding/base64url.js';
import { JoseKeyMismatchError, JoseNotSupportedError } from '../../errors/jose.js';
import type { JweEnc } from '../types.js';

export const ENC_KEY_BYTES: Readonly<Record<JweEnc, number>> = { A128GCM: 16, A192GCM: 24, A256GCM: 32 };
const CIPHER: Readonly<Record<JweEnc, string>> = {
  A128GCM: 'aes-128-gcm',
  A192GCM: 'aes-192-gcm',
  A256GCM: 'aes-256-gcm',
};

export function cipherFor(enc: unknown, key: KeyObject): string {
  const cipher = CIPHER[enc as JweEnc];
  if (cipher === undefined) throw new JoseNotSupportedError('enc must be A128GCM, A192GCM or A256GCM');
  if (key.type !== 'secret' || key.symmetricKeySize !== ENC_KEY_BYTES[enc as JweEnc])
    throw new JoseKeyMismatchError(`${String(enc)} needs a ${ENC_KEY_BYTES[enc as JweEnc]}-byte secret key`);
  return cipher;
}

export interface JweEncryptOptions {
  enc: JweEnc;
  kid?: string;
  typ?: string;
  cty?: string;
  extraHeader?: Record<string, unknown>;
}

/**
 * Compact JWE with direct key agreement (RFC 7516, RFC 7518 4.5 `dir` + 5.3 AES-GCM): a fresh 96-bit IV
 * from the CSPRNG per token, the protected header as additional authenticated data.
 */
export function encryptJwe(plaintext: Uint8Array | string, key: KeyObject, opts: JweEncryptOptions): string {
  const cipherName = cipherFor(opts.enc, key);
  const header: Record<string, unknown> = { ...opts.extraHeader, alg: 'dir', enc: opts.enc };
  if (opts.kid !== undefined) header.kid = opts.kid;
  if (opts.typ !== undefined) header.typ = opts.typ;
  if (opts.cty !== undefined) header.cty = opts.cty;
  const protectedB64 = encodeBase64url(JSON.stringify(header));
  const iv = randomBytes(12);
  const cipher = createCipheriv(cipherName as 'aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(protectedB64, 'latin1'));
  const pt = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ct = Buffer.concat([cipher.update(pt), cipher.final()]);
  return `${protectedB64}..${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}
