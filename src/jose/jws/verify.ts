import { createHmac, verify as cryptoVerify, type KeyObject, timingSafeEqual } from 'node:crypto';
import { InputTooLargeError } from '../../errors/base.js';
import { JwsInvalidError, JwsSignatureInvalidError } from '../../errors/jose.js';
import { type AlgSpec, algSpec, asymmetricParams, checkKey } from '../lib/alg.js';
import { DEFAULT_MAX_TOKEN, parseProtectedHeader, validateCrit } from '../lib/header.js';
import type { JwsHeader, JwsVerifyOptions, KeyResolver, VerifiedJws } from '../types.js';

const malformed = (m: string) => new JwsInvalidError(m);

// The header of the previous token, kept as its exact segment: consecutive tokens from one issuer share it,
// and a token that starts with that segment followed by '.' has exactly that header (a base64url segment
// holds no '.'), already validated and frozen by parseProtectedHeader - no slice, hash or Map lookup.
let lastSegment = '';
let lastHeader: JwsHeader | undefined;

/** Splits a compact JWS and parses its protected header, enforcing size and shape before any crypto. */
export function splitJws(
  token: unknown,
  maxTokenSize = DEFAULT_MAX_TOKEN,
): { header: JwsHeader; d1: number; d2: number } {
  if (typeof token !== 'string') throw new JwsInvalidError('the token must be a string');
  if (token.length > maxTokenSize)
    throw new InputTooLargeError(`the token exceeds ${maxTokenSize} characters`);
  const known =
    lastHeader !== undefined &&
    token.charCodeAt(lastSegment.length) === 0x2e &&
    token.startsWith(lastSegment);
  const d1 = known ? lastSegment.length : token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0 || token.indexOf('.', d2 + 1) !== -1)
    throw new JwsInvalidError('a compact JWS has exactly three parts');
  if (known) return { header: lastHeader as JwsHeader, d1, d2 };
  const segment = token.slice(0, d1);
  const header = parseProtectedHeader(segment, malformed);
  lastSegment = segment;
  lastHeader = header;
  return { header, d1, d2 };
}

// RFC 7515 2: base64url without padding. Payload and signature are checked in one native regex pass from
// just after the (already validated) header to the end - their dot is already counted - which is faster
// than per-segment slices or a char-table loop (measured). Sticky: it matches at lastIndex or not at all.
const PARTS_ALPHABET = /[A-Za-z0-9_.-]*$/y;

// Payloads, signing inputs and signatures are decoded into reused buffers: the bytes never escape this module
// and everything here is synchronous, so no call can see another's bytes.
const SCRATCH_MAX = 64 * 1024;
let inputScratch = Buffer.allocUnsafeSlow(4096);

// Two reused views per MAC length (43, 64 or 86 characters: set by the hash, never by the token).
const macViews: Array<[Buffer, Buffer]> = [];

/**
 * Compares the computed MAC, encoded to base64url, with the signature segment `token[start, end)` in
 * constant time. Encoding the 32-64 byte MAC is cheaper than decoding the segment into a new Buffer, and
 * only the canonical encoding matches (a segment with stray low bits in its last character is refused).
 * The length of a MAC is public; only the contents are compared through timingSafeEqual.
 */
function macMatches(mac: string, token: string, start: number): boolean {
  const n = mac.length;
  if (token.length - start !== n) return false;
  let views = macViews[n];
  if (views === undefined) {
    const b = Buffer.alloc(2 * n);
    views = [b.subarray(0, n), b.subarray(n)];
    macViews[n] = views;
  }
  // Both strings are base64url (checked by the caller): latin1 writes exactly n bytes each.
  views[0].write(mac, 0, n, 'latin1');
  views[1].write(token.slice(start), 0, n, 'latin1');
  return timingSafeEqual(views[0], views[1]);
}

/**
 * The signature check over `token[0, d2)` with the signature in `token[d2+1, end)`. The token is checked to
 * be strict base64url first: Buffer's decoder skips foreign characters and latin1 truncates wide ones, so
 * without the check two different strings could share one signature.
 */
function signatureValid(spec: AlgSpec, key: KeyObject, token: string, d1: number, d2: number): boolean {
  PARTS_ALPHABET.lastIndex = d1 + 1;
  if (!PARTS_ALPHABET.test(token) || (d2 - d1 - 1) % 4 === 1 || (token.length - d2 - 1) % 4 === 1)
    throw new JwsInvalidError('the token is not base64url');
  if (spec.kind === 'hmac') {
    // The string is all base64url (ASCII, so its UTF-8 bytes are its characters): no Buffer copy of the
    // signing input, and the default encoding skips the encoding-name handling of 'latin1' (measured).
    const mac = createHmac(spec.hash as string, key)
      .update(token.slice(0, d2))
      .digest('base64url');
    return macMatches(mac, token, d2 + 1);
  }
  // The signing input (latin1: base64url, so byte for byte) and the decoded signature go into one reused
  // buffer, as two views: no per-token Buffer allocations. crypto.verify without a callback is synchronous.
  let data: Buffer;
  let sig: Buffer;
  if (token.length <= SCRATCH_MAX) {
    if (inputScratch.length < token.length)
      inputScratch = Buffer.allocUnsafeSlow(
        Math.min(SCRATCH_MAX, Math.max(token.length, inputScratch.length * 2)),
      );
    inputScratch.write(token, 0, d2, 'latin1');
    const n = inputScratch.write(token.slice(d2 + 1), d2, 'base64url');
    data = inputScratch.subarray(0, d2);
    sig = inputScratch.subarray(d2, d2 + n);
  } else {
    data = Buffer.from(token.slice(0, d2), 'latin1');
    sig = Buffer.from(token.slice(d2 + 1), 'base64url');
  }
  // RFC 7518 3.4: an ECDSA signature is exactly r || s of the curve's size; anything else is refused unread.
  if (spec.sigLength !== undefined && sig.length !== spec.sigLength) return false;
  return cryptoVerify(spec.hash, data, asymmetricParams(spec, key), sig);
}

/**
 * Verifies the compact JWS `token` and returns its header and the payload segment's bounds, without decoding
 * the payload (verifyJwt decodes it straight to text). Order: size, shape, header (cached per segment),
 * alg allow-list, crit, key fit, base64url, one crypto call.
 */
export function verifyCompact(
  token: string,
  key: KeyObject | KeyResolver,
  opts: JwsVerifyOptions,
): { header: JwsHeader; d1: number; d2: number } {
  const parts = splitJws(token, opts.maxTokenSize);
  const header = parts.header;
  const spec = algSpec(header.alg, opts.algorithms);
  if (header.crit !== undefined) validateCrit(header, opts.crit);
  const k = typeof key === 'function' ? key(header) : key;
  checkKey(spec.alg, spec, k, 'verify');
  if (!signatureValid(spec, k, token, parts.d1, parts.d2))
    throw new JwsSignatureInvalidError('the signature does not verify');
  return parts;
}

let scratch = Buffer.allocUnsafeSlow(4096);

/** The payload segment `token[d1+1, d2)` of a verified token, decoded to UTF-8 text. */
export function decodePayloadText(token: string, d1: number, d2: number): string {
  const max = Math.ceil(((d2 - d1 - 1) * 3) / 4);
  // A caller raising maxTokenSize far above the default should not leave a huge buffer behind.
  if (max > SCRATCH_MAX) return Buffer.from(token.slice(d1 + 1, d2), 'base64url').toString('utf8');
  if (scratch.length < max)
    scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(max, scratch.length * 2)));
  const n = scratch.write(token.slice(d1 + 1, d2), 0, 'base64url');
  return scratch.toString('utf8', 0, n);
}

/**
 * Verifies a compact JWS with a caller-chosen key. The key never comes from the token: jku, x5u, x5c and
 * jwk headers are ignored unless the caller's resolver decides to use them.
 */
export function verifyJws(token: string, key: KeyObject | KeyResolver, opts: JwsVerifyOptions): VerifiedJws {
  const { header, d1, d2 } = verifyCompact(token, key, opts);
  return { header, payload: Buffer.from(token.slice(d1 + 1, d2), 'base64url') };
}
