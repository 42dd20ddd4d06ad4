import { type KeyObject, sign, verify } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { InputTooLargeError } from '../errors/base.js';
import { AuthoritySignatureError } from '../errors/server.js';
import { parseJsonObject } from '../jose/lib/json.js';

/**
 * The authority's compact JWS for ES256 and EdDSA, on node:crypto. The jose capability (src/jose) was
 * still being written when the service was built; this keeps the service and the offline status check
 * self-contained, with the same strict rules: an algorithm allow-list matched to the key type, no `none`,
 * no key taken from the token, size limits before any decode.
 */
export type AuthorityAlg = 'ES256' | 'EdDSA';

export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [k: string]: unknown;
}

export const MAX_JWS_SIZE = 64 * 1024;

// asymmetricKeyDetails builds a fresh object on every read: remembered per key, as keys are reused
const algCache = new WeakMap<KeyObject, AuthorityAlg>();

export function algForKey(key: KeyObject): AuthorityAlg {
  const cached = algCache.get(key);
  if (cached) return cached;
  let alg: AuthorityAlg;
  if (key.asymmetricKeyType === 'ed25519') alg = 'EdDSA';
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    alg = 'ES256';
  else throw new AuthoritySignatureError('authority keys must be Ed25519 or P-256');
  algCache.set(key, alg);
  return alg;
}

export function rawSign(alg: AuthorityAlg, input: Buffer, key: KeyObject): Buffer {
  return alg === 'EdDSA' ? sign(null, input, key) : sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
}

export function rawVerify(alg: AuthorityAlg, input: Buffer, key: KeyObject, sig: Buffer): boolean {
  // RFC 7518 3.4: an ES256 signature is exactly 64 bytes (r || s)
  if (alg === 'ES256' && sig.length !== 64) return false;
  return alg === 'EdDSA'
    ? verify(null, input, key, sig)
    : verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

export function signCompact(header: Omit<JwsHeader, 'alg'>, payload: object, key: KeyObject): string {
  const alg = algForKey(key);
  const h = encodeBase64url(JSON.stringify({ alg, ...header }));
  const p = encodeBase64url(JSON.stringify(payload));
  const input = `${h}.${p}`;
  return `${input}.${encodeBase64url(rawSign(alg, Buffer.from(input), key))}`;
}

export interface DecodedJws {
  header: JwsHeader;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const JSON_LIMITS = { maxDepth: 32, rejectDuplicates: true };

/**
 * Header and payload through the jose core's strict parser: a repeated member name (RFC 7515 5.2 for the
 * header, RFC 7519 4 read strictly for claims) is refused, so no two parsers read different claims.
 */
function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    return parseJsonObject(
      bytes.toString('utf8'),
      JSON_LIMITS,
      (r) => new AuthoritySignatureError(`${what} ${r}`),
    );
  } catch (e) {
    if (e instanceof AuthoritySignatureError) throw e;
    throw new AuthoritySignatureError(`${what} is nested too deeply`);
  }
}

/** Splits and decodes without trusting anything (used to pick the key, never to decide). */
export function decodeCompact(token: string, maxSize = MAX_JWS_SIZE): DecodedJws {
  if (typeof token !== 'string') throw new AuthoritySignatureError('token must be a string');
  if (token.length > maxSize) throw new InputTooLargeError(`token exceeds ${maxSize} characters`);
  const parts = token.split('.');
  if (parts.length !== 3) throw new AuthoritySignatureError('token is not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  let signature: Buffer;
  try {
    header = parseObject(decodeBase64url(h, 'header'), 'header');
    payload = parseObject(decodeBase64url(p, 'payload'), 'payload');
    signature = decodeBase64url(s, 'signature');
  } catch (e) {
    if (e instanceof AuthoritySignatureError) throw e;
    throw new AuthoritySignatureError('token parts are not base64url');
  }
  if (typeof header.alg !== 'string') throw new AuthoritySignatureError('header has no alg');
  // RFC 7515 4.1.11: extensions we do not understand must be rejected; we understand none
  if (header.crit !== undefined) throw new AuthoritySignatureError('crit header is not supported');
  if (header.b64 !== undefined) throw new AuthoritySignatureError('b64 header is not supported');
  return { header: header as JwsHeader, payload, signingInput: `${h}.${p}`, signature };
}

/** Verifies a decoded JWS with `key`; the header's alg must be the one the key type implies (no alg confusion). */
export function verifyDecoded(d: DecodedJws, key: KeyObject, algorithms: readonly string[]): void {
  const alg = d.header.alg;
  if (!algorithms.includes(alg)) throw new AuthoritySignatureError(`alg ${alg} is not allowed`);
  let expected: AuthorityAlg;
  try {
    expected = algForKey(key);
  } catch {
    throw new AuthoritySignatureError('key type is not supported');
  }
  if (alg !== expected) throw new AuthoritySignatureError(`alg ${alg} does not match the key type`);
  if (!rawVerify(expected, Buffer.from(d.signingInput), key, d.signature))
    throw new AuthoritySignatureError('signature verification failed');
}
