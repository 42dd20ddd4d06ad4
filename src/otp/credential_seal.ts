import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { OtpSecretSealError } from '../errors/otp.js';

/*
 * Secrets at rest: a JWE compact serialisation (RFC 7516 7.1) with alg "dir" and enc "A256GCM".
 * The credential id sits in the protected header, which is the GCM additional data, so a sealed
 * secret copied onto another credential row fails to open (checked below) instead of validating
 * the attacker's codes. Format-compatible with src/jose/jwe encryptJwe/decryptJwe.
 */
const TYP = 'offtoken-otp-secret';
const MAX_SEALED = 4096;

export function sealSecret(secret: Uint8Array, key: Uint8Array, credentialId: string): string {
  const header = encodeBase64url(JSON.stringify({ alg: 'dir', enc: 'A256GCM', typ: TYP, cid: credentialId }));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(header, 'ascii'));
  const ct = Buffer.concat([c.update(secret), c.final()]);
  return `${header}..${encodeBase64url(iv)}.${encodeBase64url(ct)}.${encodeBase64url(c.getAuthTag())}`;
}

export function openSecret(sealed: string, key: Uint8Array, credentialId: string): Buffer {
  try {
    if (sealed.length > MAX_SEALED) throw new Error('too large');
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[1] !== '') throw new Error('not JWE compact dir');
    const [h, , ivB, ctB, tagB] = parts as [string, string, string, string, string];
    const header = JSON.parse(decodeBase64url(h, 'header').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'dir' || header.enc !== 'A256GCM' || header.typ !== TYP) throw new Error('header');
    if (header.cid !== credentialId) throw new Error('credential id mismatch');
    const iv = decodeBase64url(ivB, 'iv');
    const tag = decodeBase64url(tagB, 'tag');
    if (iv.length !== 12 || tag.length !== 16) throw new Error('iv/tag length');
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    d.setAAD(Buffer.from(h, 'ascii'));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(decodeBase64url(ctB, 'ciphertext')), d.final()]);
  } catch {
    // One message for every cause: which check failed is not the caller's business.
    throw new OtpSecretSealError(
      'the stored OTP secret cannot be opened with this store key (wrong key or tampered store)',
    );
  }
}
