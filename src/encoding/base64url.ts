import { EncodingError } from '../errors/base.js';

// RFC 7515 2: base64url without padding. Buffer's decoder silently skips foreign characters,
// so strictness is checked first: only the URL-safe alphabet, and no length that leaves 6 stray bits.
const B64URL = /^[A-Za-z0-9_-]*$/;

export function isBase64url(s: string): boolean {
  return s.length % 4 !== 1 && B64URL.test(s);
}

export function decodeBase64url(s: string, what = 'value'): Buffer {
  if (!isBase64url(s)) throw new EncodingError(`${what} is not valid base64url`);
  return Buffer.from(s, 'base64url');
}

export function encodeBase64url(data: Uint8Array | string): string {
  return (
    typeof data === 'string'
      ? Buffer.from(data, 'utf8')
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  ).toString('base64url');
}
