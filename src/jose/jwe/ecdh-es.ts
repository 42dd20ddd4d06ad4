import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isBase64url } from '../../encoding/base64url.js';
import { JoseKeyMismatchError, JoseNotSupportedError, JweInvalidError } from '../../errors/jose.js';

/**
 * ECDH-ES direct key agreement (RFC 7518 4.6): the content-encryption key is the Concat KDF (NIST SP 800-56A
 * 5.8.1, SHA-256) of the ECDH shared secret between an ephemeral key (`epk` in the protected header) and the
 * recipient's static key. One implementation, used by the JWE core and the nested offline tokens.
 */

/** The curves offtoken agrees keys on: X25519 (RFC 8037) and P-256. */
export type EcdhCurve = 'X25519' | 'P-256';
export const ECDH_CURVES: readonly EcdhCurve[] = ['X25519', 'P-256'];

/** Largest `apu`/`apv` accepted, in bytes (they are identifiers, not data). */
export const MAX_PARTY_INFO_BYTES = 64;

/** The agreement curve of a KeyObject, or undefined when it is not an X25519 or P-256 key. */
export function ecdhCurveOf(key: KeyObject): EcdhCurve | undefined {
  if (key.type === 'secret') return undefined;
  if (key.asymmetricKeyType === 'x25519') return 'X25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'P-256';
  return undefined;
}

/** The recipient key's curve, refusing anything else (RFC 8725 3.1: the key fixes what it is used for). */
export function requireEcdhKey(key: KeyObject, usage: 'encrypt' | 'decrypt'): EcdhCurve {
  if (typeof key !== 'object' || key === null || typeof (key as KeyObject).type !== 'string')
    throw new JoseKeyMismatchError('the key must be a node:crypto KeyObject');
  const crv = ecdhCurveOf(key);
  if (crv === undefined) throw new JoseKeyMismatchError('ECDH-ES needs an X25519 or P-256 key');
  if (usage === 'decrypt' && key.type !== 'private')
    throw new JoseKeyMismatchError('decrypting ECDH-ES needs the recipient private key');
  return crv;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const lengthPrefixed = (b: Uint8Array) => Buffer.concat([u32(b.length), b]);

const plainOtherInfo = new Map<string, Buffer>();
const ROUND_1 = u32(1);

/**
 * RFC 7518 4.6.2: Concat KDF with SHA-256. OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo,
 * each of the first three a 32-bit big-endian length and the bytes; SuppPubInfo is the key length in bits. For
 * direct key agreement AlgorithmID is the `enc` value.
 */
export function concatKdf(
  z: Uint8Array,
  keyBits: number,
  algorithmId: string,
  apu: Uint8Array = Buffer.alloc(0),
  apv: Uint8Array = Buffer.alloc(0),
): Buffer {
  const plain = apu.length === 0 && apv.length === 0;
  const cacheKey = `${algorithmId}/${keyBits}`;
  let otherInfo = plain ? plainOtherInfo.get(cacheKey) : undefined;
  if (otherInfo === undefined) {
    otherInfo = Buffer.concat([
      lengthPrefixed(Buffer.from(algorithmId, 'ascii')),
      lengthPrefixed(apu),
      lengthPrefixed(apv),
      u32(keyBits),
    ]);
    // Without apu/apv OtherInfo depends only on the enc and the size: one per pair, a handful at most.
    if (plain && plainOtherInfo.size < 16) plainOtherInfo.set(cacheKey, otherInfo);
  }
  const rounds = Math.ceil(keyBits / 256);
  const out: Buffer[] = [];
  for (let i = 1; i <= rounds; i++)
    out.push(
      createHash('sha256')
        .update(i === 1 ? ROUND_1 : u32(i))
        .update(z)
        .update(otherInfo)
        .digest(),
    );
  return Buffer.concat(out).subarray(0, keyBits / 8);
}

/** The ECDH shared secret, refusing the all-zero result of a low-order X25519 point (RFC 7748 6.1). */
export function sharedSecret(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey, publicKey });
  } catch {
    throw new JweInvalidError('the ephemeral key gives no usable shared secret (a low-order point)');
  }
  let acc = 0;
  for (const b of z) acc |= b;
  if (acc === 0) throw new JweInvalidError('the ephemeral key gives an all-zero shared secret');
  return z;
}

const EPK_MEMBERS: Readonly<Record<EcdhCurve, readonly string[]>> = {
  X25519: ['kty', 'crv', 'x'],
  'P-256': ['kty', 'crv', 'x', 'y'],
};
const KTY: Readonly<Record<EcdhCurve, string>> = { X25519: 'OKP', 'P-256': 'EC' };
/** base64url characters of a 32-byte value: an X25519 public key, a P-256 coordinate. */
const COORD_CHARS = 43;

/**
 * Imports the header's `epk` strictly: a public JWK of exactly the recipient's curve with only its public
 * members (a `d` or any other member is refused, so no private key travels in a header and no parser sees
 * fields we ignore), fixed-size coordinates, and for P-256 a point on the curve (node:crypto's JWK import
 * refuses one that is not: the invalid-curve attack, CVE-2017-16007 class).
 */
export function importEpk(epk: unknown, expected: EcdhCurve): KeyObject {
  if (typeof epk !== 'object' || epk === null || Array.isArray(epk))
    throw new JweInvalidError('ECDH-ES needs an epk header that is a JWK object');
  const jwk = epk as Record<string, unknown>;
  const crv = jwk.crv;
  if (
    typeof crv !== 'string' ||
    !(ECDH_CURVES as readonly string[]).includes(crv) ||
    jwk.kty !== KTY[crv as EcdhCurve]
  )
    throw new JoseNotSupportedError('the epk must be an X25519 (OKP) or P-256 (EC) public key');
  if (crv !== expected)
    throw new JoseKeyMismatchError(`the token was encrypted to a ${crv} key, this key is ${expected}`);
  const allowed = EPK_MEMBERS[expected];
  for (const name of Object.keys(jwk))
    if (!allowed.includes(name))
      throw new JweInvalidError(
        name === 'd'
          ? 'the epk carries a private key member'
          : `the epk has a member ${name.slice(0, 16)} a public ${expected} key does not`,
      );
  for (const name of allowed.slice(2)) {
    const v = jwk[name];
    if (typeof v !== 'string' || v.length !== COORD_CHARS || !isBase64url(v))
      throw new JweInvalidError(`the epk ${name} must be 32 bytes of base64url`);
  }
  try {
    return createPublicKey({
      key: { kty: jwk.kty, crv, x: jwk.x, ...(jwk.y !== undefined && { y: jwk.y }) } as never,
      format: 'jwk',
    });
  } catch {
    throw new JweInvalidError('the epk is not a point on its curve');
  }
}

/** Decodes an optional `apu`/`apv` header member within its size bound. */
export function partyInfo(value: unknown, name: 'apu' | 'apv'): Buffer {
  if (value === undefined) return Buffer.alloc(0);
  if (
    typeof value !== 'string' ||
    !isBase64url(value) ||
    value.length > Math.ceil((MAX_PARTY_INFO_BYTES * 4) / 3)
  )
    throw new JweInvalidError(`${name} must be base64url of at most ${MAX_PARTY_INFO_BYTES} bytes`);
  return Buffer.from(value, 'base64url');
}

/** The recipient side: the content-encryption key from our private key and the header's epk/apu/apv. */
export function ecdhEsDecryptionKey(
  privateKey: KeyObject,
  header: { epk?: unknown; apu?: unknown; apv?: unknown },
  enc: string,
  keyBits: number,
): Buffer {
  const crv = requireEcdhKey(privateKey, 'decrypt');
  const epk = importEpk(header.epk, crv);
  const apu = partyInfo(header.apu, 'apu');
  const apv = partyInfo(header.apv, 'apv');
  return concatKdf(sharedSecret(privateKey, epk), keyBits, enc, apu, apv);
}

/** The sender side: a fresh ephemeral key on the recipient's curve, its public JWK, and the derived key. */
export function ecdhEsEncryptionKey(
  recipient: KeyObject,
  enc: string,
  keyBits: number,
  apu?: Uint8Array,
  apv?: Uint8Array,
): { epk: Record<string, string>; cek: Buffer } {
  const crv = requireEcdhKey(recipient, 'encrypt');
  const pub = recipient.type === 'private' ? createPublicKey(recipient) : recipient;
  const pair =
    crv === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const epk: Record<string, string> =
    crv === 'X25519' ? { kty: 'OKP', crv, x: j.x! } : { kty: 'EC', crv, x: j.x!, y: j.y! };
  const cek = concatKdf(sharedSecret(pair.privateKey, pub), keyBits, enc, apu, apv);
  return { epk, cek };
}
