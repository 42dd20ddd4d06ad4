import { createHmac, verify as cryptoVerify, type KeyObject, timingSafeEqual } from 'node:crypto';
import { isBase64url } from '../../encoding/base64url.js';
import { InputTooLargeError } from '../../errors/base.js';
import { JwsInvalidError, JwsSignatureInvalidError } from '../../errors/jose.js';
import { algSpec, asymmetricParams, checkKey } from '../lib/alg.js';
import { DEFAULT_MAX_TOKEN, parseProtectedHeader, validateCrit } from '../lib/header.js';
import type { JwsHeader, JwsVerifyOptions, KeyResolver, VerifiedJws } from '../types.js';

const malformed = (m: string) => new JwsInvalidError(m);

/** Splits a compact JWS and parses its protected header, enforcing size and shape before any crypto. */
export function splitJws(
  token: unknown,
  maxTokenSize = DEFAULT_MAX_TOKEN,
): { header: JwsHeader; d1: number; d2: number } {
  if (typeof token !== 'string') throw new JwsInvalidError('the token must be a string');
  if (token.length > maxTokenSize)
    throw new InputTooLargeError(`the token exceeds ${maxTokenSize} characters`);
  const d1 = token.indexOf('.');
  const d2 = d1 < 0 ? -1 : token.indexOf('.', d1 + 1);
  if (d2 < 0 || token.indexOf('.', d2 + 1) !== -1)
    throw new JwsInvalidError('a compact JWS has exactly three parts');
  return { header: parseProtectedHeader(token.slice(0, d1), malformed), d1, d2 };
}

/**
 * Verifies a compact JWS with a caller-chosen key. The key never comes from the token: jku, x5u, x5c and
 * jwk headers are ignored unless the caller's resolver decides to use them.
 */
export function verifyJws(token: string, key: KeyObject | KeyResolver, opts: JwsVerifyOptions): VerifiedJws {
  const { header, d1, d2 } = splitJws(token, opts.maxTokenSize);
  const spec = algSpec(header.alg, opts.algorithms);
  validateCrit(header, opts.crit);
  const k = typeof key === 'function' ? key(header) : key;
  checkKey(spec.alg, spec, k, 'verify');
  const sigSeg = token.slice(d2 + 1);
  const paySeg = token.slice(d1 + 1, d2);
  if (!isBase64url(sigSeg) || !isBase64url(paySeg)) throw new JwsInvalidError('the token is not base64url');
  const sig = Buffer.from(sigSeg, 'base64url');
  const data = Buffer.from(token.slice(0, d2), 'latin1');
  let ok: boolean;
  if (spec.kind === 'hmac') {
    const mac = createHmac(spec.hash!, k).update(data).digest();
    ok = mac.length === sig.length && timingSafeEqual(mac, sig);
  } else if (spec.sigLength !== undefined && sig.length !== spec.sigLength) {
    ok = false;
  } else {
    ok = cryptoVerify(spec.hash, data, asymmetricParams(spec, k), sig);
  }
  if (!ok) throw new JwsSignatureInvalidError('the signature does not verify');
  return { header, payload: Buffer.from(paySeg, 'base64url') };
}
