import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';

/**
 * Compact JWE `alg: dir`, `enc: A256GCM` (RFC 7516 / RFC 7518 5.3): empty encrypted key, 96-bit CSPRNG IV per
 * token, AAD = ASCII(BASE64URL(protected header)) so the header cannot be swapped.
 */
export function sealDir(
  plaintext: Uint8Array | string,
  key: KeyObject | Buffer,
  header: Record<string, unknown>,
): string {
  const h = encodeBase64url(JSON.stringify({ alg: 'dir', enc: 'A256GCM', ...header }));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(h, 'ascii'));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return `${h}..${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
}

/** Splits a compact dir/A256GCM JWE's header without decrypting (throws on malformation). */
export function peekHeader(jwe: string): Record<string, unknown> {
  const h = jwe.slice(0, jwe.indexOf('.'));
  const o = JSON.parse(decodeBase64url(h).toString('utf8')) as unknown;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('header');
  return o as Record<string, unknown>;
}

/** Decrypts; throws a plain Error on any malformation or authentication failure. */
export function openDir(jwe: string, key: KeyObject | Buffer): Buffer {
  const parts = jwe.split('.');
  if (parts.length !== 5 || parts[1] !== '') throw new Error('shape');
  const [h, , ivs, cts, tags] = parts as [string, string, string, string, string];
  const header = peekHeader(jwe);
  if (
    header.alg !== 'dir' ||
    header.enc !== 'A256GCM' ||
    header.crit !== undefined ||
    header.zip !== undefined
  )
    throw new Error('alg');
  const iv = decodeBase64url(ivs);
  const tag = decodeBase64url(tags);
  if (iv.length !== 12 || tag.length !== 16) throw new Error('iv');
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  d.setAAD(Buffer.from(h, 'ascii'));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(decodeBase64url(cts)), d.final()]);
}
