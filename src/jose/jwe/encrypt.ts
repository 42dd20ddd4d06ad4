import { createCipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { encodeBase64url } from '../../encoding/base64url.js';
import { JoseKeyMismatchError, JoseNotSupportedError } from '../../errors/jose.js';
import type { JweEnc } from '../types.js';
import { ecdhEsEncryptionKey, MAX_PARTY_INFO_BYTES } from './ecdh-es.js';

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
  /** Key management: `dir` (a secret key of the enc's size, the default) or `ECDH-ES` (the recipient's public key). */
  alg?: 'dir' | 'ECDH-ES';
  enc: JweEnc;
  /** ECDH-ES PartyUInfo / PartyVInfo (RFC 7518 4.6.1.2-3), at most 64 bytes each. */
  apu?: Uint8Array;
  apv?: Uint8Array;
  kid?: string;
  typ?: string;
  cty?: string;
  extraHeader?: Record<string, unknown>;
}

/**
 * Compact JWE with direct encryption (RFC 7516, RFC 7518 4.5 `dir`) or direct key agreement (4.6 `ECDH-ES`,
 * a fresh ephemeral key per token) and 5.3 AES-GCM: a fresh 96-bit IV from the CSPRNG per token, the
 * protected header as additional authenticated data.
 */
export function encryptJwe(plaintext: Uint8Array | string, key: KeyObject, opts: JweEncryptOptions): string {
  const header: Record<string, unknown> = { ...opts.extraHeader };
  let cek: KeyObject | Buffer = key;
  if (opts.alg === 'ECDH-ES') {
    if (!Object.hasOwn(ENC_KEY_BYTES, opts.enc))
      throw new JoseNotSupportedError('enc must be A128GCM, A192GCM or A256GCM');
    for (const [name, v] of [
      ['apu', opts.apu],
      ['apv', opts.apv],
    ] as const)
      if (v !== undefined && v.length > MAX_PARTY_INFO_BYTES)
        throw new JoseNotSupportedError(`${name} is at most ${MAX_PARTY_INFO_BYTES} bytes`);
    const agreed = ecdhEsEncryptionKey(key, opts.enc, ENC_KEY_BYTES[opts.enc] * 8, opts.apu, opts.apv);
    Object.assign(header, { alg: 'ECDH-ES', enc: opts.enc, epk: agreed.epk });
    if (opts.apu !== undefined) header.apu = encodeBase64url(opts.apu);
    if (opts.apv !== undefined) header.apv = encodeBase64url(opts.apv);
    cek = agreed.cek;
  } else Object.assign(header, { alg: 'dir', enc: opts.enc });
  const cipherName = Buffer.isBuffer(cek) ? CIPHER[opts.enc] : cipherFor(opts.enc, cek as KeyObject);
  if (opts.kid !== undefined) header.kid = opts.kid;
  if (opts.typ !== undefined) header.typ = opts.typ;
  if (opts.cty !== undefined) header.cty = opts.cty;
  const protectedB64 = encodeBase64url(JSON.stringify(header));
  const iv = randomBytes(12);
  const cipher = createCipheriv(cipherName as 'aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(protectedB64, 'latin1'));
  const pt = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ct = Buffer.concat([cipher.update(pt), cipher.final()]);
  return `${protectedB64}..${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}
