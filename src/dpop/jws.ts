import { createPublicKey, type JsonWebKey, type KeyObject, sign, verify } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { parseJsonObject } from '../jose/lib/json.js';

/**
 * The small asymmetric compact-JWS core DPoP and the downscoping intermediary need (RFC 7515), on node:crypto.
 * Only asymmetric algorithms: a DPoP proof signed with a MAC proves nothing about a key the verifier can see.
 */
export type AsymmetricAlg = 'ES256' | 'ES384' | 'EdDSA' | 'Ed25519' | 'PS256' | 'RS256';

const NODE: Record<
  AsymmetricAlg,
  { hash: string | null; kty: string; crv?: string; pss?: boolean; ec?: boolean }
> = {
  ES256: { hash: 'sha256', kty: 'EC', crv: 'P-256', ec: true },
  ES384: { hash: 'sha384', kty: 'EC', crv: 'P-384', ec: true },
  EdDSA: { hash: null, kty: 'OKP' },
  // RFC 9864 fully-specified name (what panva/dpop emits for Ed25519 keys)
  Ed25519: { hash: null, kty: 'OKP', crv: 'Ed25519' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  RS256: { hash: 'sha256', kty: 'RSA' },
};

export function isAsymmetricAlg(a: unknown): a is AsymmetricAlg {
  return typeof a === 'string' && Object.hasOwn(NODE, a);
}

function keyFor(alg: AsymmetricAlg, key: KeyObject) {
  const n = NODE[alg];
  return n.ec
    ? { key, dsaEncoding: 'ieee-p1363' as const }
    : n.pss
      ? { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }
      : { key };
}

/** The JWS alg for a key (EC P-256 -> ES256, Ed25519 -> EdDSA, ...). */
export function algForKey(key: KeyObject): AsymmetricAlg {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return 'EdDSA';
  if (t === 'ec') {
    const c = key.asymmetricKeyDetails?.namedCurve;
    if (c === 'prime256v1') return 'ES256';
    if (c === 'secp384r1') return 'ES384';
  }
  if (t === 'rsa') return 'RS256';
  if (t === 'rsa-pss') return 'PS256';
  throw new TypeError('unsupported key type for JWS');
}

export function signCompact(
  header: Record<string, unknown>,
  payload: string | Uint8Array,
  key: KeyObject,
): string {
  const alg = header.alg as AsymmetricAlg;
  const input = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(payload)}`;
  const sig = sign(NODE[alg].hash, Buffer.from(input), keyFor(alg, key));
  return `${input}.${sig.toString('base64url')}`;
}

export interface ParsedJws {
  header: Record<string, unknown>;
  payload: Buffer;
  signingInput: Buffer;
  signature: Buffer;
}

const JSON_LIMITS = { maxDepth: 8, rejectDuplicates: true };
const fail = (reason: string) => new Error(reason);

/**
 * A payload of this core's tokens (a DPoP proof, an intermediary) as a JSON object, with duplicate member names
 * refused (RFC 7519 4, strict reading) like the header's; throws a plain Error, mapped by the caller.
 */
export function parsePayloadObject(payload: Buffer): Record<string, unknown> {
  return parseJsonObject(payload.toString('utf8'), JSON_LIMITS, fail);
}

/** Splits and decodes; throws a plain Error on any malformation (callers map it to their own code). */
export function parseCompact(token: string, maxSize: number): ParsedJws {
  if (typeof token !== 'string' || token.length > maxSize) throw new Error('size');
  const a = token.indexOf('.');
  const b = token.indexOf('.', a + 1);
  if (a < 1 || b < 0 || token.indexOf('.', b + 1) !== -1) throw new Error('shape');
  // RFC 7515 5.2: duplicate header names are refused, as by the jose core (src/jose/lib)
  const header = parseJsonObject(decodeBase64url(token.slice(0, a)).toString('utf8'), JSON_LIMITS, fail);
  return {
    header,
    payload: decodeBase64url(token.slice(a + 1, b)),
    signingInput: Buffer.from(token.slice(0, b)),
    signature: decodeBase64url(token.slice(b + 1)),
  };
}

export function verifySignature(alg: AsymmetricAlg, key: KeyObject, p: ParsedJws): boolean {
  return verify(NODE[alg].hash, p.signingInput, keyFor(alg, key), p.signature);
}

// RFC 7517/7518: the members that make a JWK private (or symmetric). A proof carrying one leaks a key
// and must be rejected, never "used as the public part".
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Imports an embedded public JWK for `alg`; throws on a private/symmetric JWK or one that does not fit `alg`. */
export function importPublicJwk(jwk: unknown, alg: AsymmetricAlg): KeyObject {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new Error('jwk');
  const j = jwk as Record<string, unknown>;
  for (const m of PRIVATE_MEMBERS) if (Object.hasOwn(j, m)) throw new Error('private');
  const n = NODE[alg];
  if (j.kty !== n.kty) throw new Error('kty');
  if (n.crv && j.crv !== n.crv) throw new Error('crv');
  if (alg === 'EdDSA' && j.crv !== 'Ed25519') throw new Error('crv');
  const key = createPublicKey({ key: j as JsonWebKey, format: 'jwk' });
  if (key.type !== 'public') throw new Error('type');
  // RFC 7518 3.3 / 3.5: RSA keys of 2048 bits or more (a short modulus is factorable: anyone could sign)
  if (n.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error('rsa');
  return key;
}
