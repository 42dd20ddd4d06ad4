import {
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { encodeBase64url, isBase64url } from '../encoding/base64url.js';
import { withArticle } from '../errors/article.js';
import { KeyAlgMismatchError, KeyInvalidError, KeyTooWeakError } from '../errors/keys.js';
import type { AgreementCurve, Jwk, Jwks, KeyAlg, OfftokenKey } from './types.js';

const EC_CRV: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
const ECDH_CURVE: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};
// node:crypto reports OpenSSL curve names.
const NODE_CURVE: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const OCT_BYTES: Record<string, number> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
  A128GCM: 16,
  A192GCM: 24,
  A256GCM: 32,
};

/** ECDH-ES keys come in two key types: X25519 (OKP) and P-256 (EC). */
const AGREEMENT_KTY: Record<string, OfftokenKey['kty']> = { X25519: 'OKP', 'P-256': 'EC' };

/** The key type of an alg; an ECDH-ES key's depends on its curve (default X25519). */
export function ktyFor(alg: string, crv?: string): OfftokenKey['kty'] {
  if (alg === 'ECDH-ES') {
    const kty = AGREEMENT_KTY[crv ?? 'X25519'];
    if (kty === undefined || !Object.hasOwn(AGREEMENT_KTY, crv ?? 'X25519'))
      throw new KeyInvalidError('an ECDH-ES key is X25519 or P-256');
    return kty;
  }
  if (alg === 'EdDSA') return 'OKP';
  if (alg in EC_CRV) return 'EC';
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return 'RSA';
  if (alg in OCT_BYTES) return 'oct';
  throw new KeyInvalidError(`unsupported alg "${alg}"`);
}

/** RFC 7638 3.2: only the required members, in lexicographic order. */
const REQUIRED: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

export function thumbprint(jwkOrKey: Jwk | OfftokenKey): string {
  const jwk: Jwk =
    'kty' in jwkOrKey && ('publicKey' in jwkOrKey || 'secretKey' in jwkOrKey || 'privateKey' in jwkOrKey)
      ? exportJwk(jwkOrKey as OfftokenKey, { private: (jwkOrKey as OfftokenKey).kty === 'oct' })
      : (jwkOrKey as Jwk);
  const req = REQUIRED[jwk.kty];
  if (!req) throw new KeyInvalidError('unsupported kty for thumbprint');
  const obj: Record<string, unknown> = {};
  for (const m of req) {
    if (typeof jwk[m] !== 'string') throw new KeyInvalidError(`JWK member "${m}" missing`);
    obj[m] = jwk[m];
  }
  return encodeBase64url(createHash('sha256').update(JSON.stringify(obj)).digest());
}

/** Encryption keys (A*GCM, ECDH-ES) have use `enc`, every other alg `sig` (RFC 7517 4.2). */
export function useFor(alg: string): 'sig' | 'enc' {
  return alg.startsWith('A') || alg === 'ECDH-ES' ? 'enc' : 'sig';
}

export function generateKey(
  alg: KeyAlg,
  opts: { kid?: string; modulusLength?: number; crv?: AgreementCurve } = {},
): OfftokenKey {
  if (opts.crv !== undefined && alg !== 'ECDH-ES') throw new KeyInvalidError('crv is for ECDH-ES keys only');
  const kty = ktyFor(alg, opts.crv);
  const use = useFor(alg);
  if (kty === 'oct') {
    const secretKey = createSecretKey(randomBytes(OCT_BYTES[alg] as number));
    // The oct thumbprint is derived from the secret, so it must never be published as a kid.
    return { kid: opts.kid ?? encodeBase64url(randomBytes(16)), alg, use, kty, secretKey };
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (alg === 'ECDH-ES')
    pair = kty === 'OKP' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  else if (kty === 'OKP') pair = generateKeyPairSync('ed25519');
  else if (kty === 'EC') pair = generateKeyPairSync('ec', { namedCurve: EC_CRV[alg] as string });
  else {
    const modulusLength = opts.modulusLength ?? 2048;
    if (modulusLength < 2048) throw new KeyTooWeakError('RSA keys must be at least 2048 bits');
    pair = generateKeyPairSync('rsa', { modulusLength });
  }
  const key: OfftokenKey = { kid: '', alg, use, kty, ...pair };
  key.kid = opts.kid ?? thumbprint(exportJwk(key));
  return key;
}

export function exportJwk(key: OfftokenKey, opts: { private?: boolean } = {}): Jwk {
  let src: KeyObject | undefined;
  if (key.kty === 'oct') {
    if (!opts.private) throw new KeyInvalidError('an oct key has no public part');
    src = key.secretKey;
  } else src = opts.private ? key.privateKey : key.publicKey;
  if (!src) throw new KeyInvalidError('key has no material of the requested kind');
  const jwk = src.export({ format: 'jwk' }) as Jwk;
  return { ...jwk, kid: key.kid, alg: key.alg, use: key.use };
}

/**
 * Binds asymmetric key material to one alg: the key type, curve and size must fit it (RFC 8725 3.1, no
 * algorithm confusion). Shared by the JWK and PEM importers so both refuse the same things.
 */
export function bindKeyObjects(
  alg: KeyAlg,
  material: { privateKey?: KeyObject; publicKey: KeyObject },
  kid?: string,
): OfftokenKey {
  const pub = material.publicKey;
  const t = pub.asymmetricKeyType;
  const d = pub.asymmetricKeyDetails;
  const kty = alg === 'ECDH-ES' ? (t === 'ec' ? 'EC' : 'OKP') : ktyFor(alg);
  if (kty === 'oct') throw new KeyAlgMismatchError(`${alg} needs a secret key, not a key pair`);
  const fits =
    alg === 'ECDH-ES'
      ? t === 'x25519' || (t === 'ec' && NODE_CURVE[d?.namedCurve ?? ''] === 'P-256')
      : kty === 'OKP'
        ? t === 'ed25519'
        : kty === 'EC'
          ? t === 'ec' && NODE_CURVE[d?.namedCurve ?? ''] === EC_CRV[alg]
          : t === 'rsa';
  if (!fits) throw new KeyAlgMismatchError(`${withArticle(t ?? 'unknown')} key cannot be used with ${alg}`);
  if (kty === 'RSA' && (d?.modulusLength ?? 0) < 2048)
    throw new KeyTooWeakError('RSA keys must be at least 2048 bits');
  const use = useFor(alg);
  const key: OfftokenKey = {
    kid: '',
    alg,
    use,
    kty,
    publicKey: pub,
    ...(material.privateKey ? { privateKey: material.privateKey } : {}),
  };
  key.kid = kid ?? thumbprint(exportJwk(key));
  return key;
}

export function importJwk(jwk: Jwk, opts: { alg?: KeyAlg; public?: boolean } = {}): OfftokenKey {
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string')
    throw new KeyInvalidError('not a JWK');
  const alg = (opts.alg ?? jwk.alg) as KeyAlg | undefined;
  if (!alg) throw new KeyInvalidError('JWK has no alg and none was given');
  if (opts.alg && jwk.alg && jwk.alg !== opts.alg)
    throw new KeyAlgMismatchError('JWK alg differs from the expected alg');
  if (alg === 'ECDH-ES' && (typeof jwk.crv !== 'string' || !Object.hasOwn(AGREEMENT_KTY, jwk.crv)))
    throw new KeyAlgMismatchError('ECDH-ES requires crv X25519 or P-256');
  const kty = ktyFor(alg, alg === 'ECDH-ES' ? (jwk.crv as string) : undefined);
  if (jwk.kty !== kty) throw new KeyAlgMismatchError(`kty "${jwk.kty}" cannot be used with ${alg}`);
  if (alg !== 'ECDH-ES') {
    if (kty === 'EC' && jwk.crv !== EC_CRV[alg]) throw new KeyAlgMismatchError(`crv does not match ${alg}`);
    if (kty === 'OKP' && jwk.crv !== 'Ed25519') throw new KeyAlgMismatchError('EdDSA requires crv Ed25519');
  }
  const expectedUse = useFor(alg);
  // RFC 7517 4.2: a key published for encryption is not a signature key, and vice versa.
  if (jwk.use !== undefined && jwk.use !== expectedUse)
    throw new KeyAlgMismatchError(`use "${String(jwk.use).slice(0, 8)}" cannot be used with ${alg}`);
  const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
  try {
    if (kty === 'oct') {
      if (typeof jwk.k !== 'string' || !isBase64url(jwk.k))
        throw new KeyInvalidError('JWK k is not base64url');
      const secretKey = createSecretKey(Buffer.from(jwk.k, 'base64url'));
      if ((secretKey.symmetricKeySize ?? 0) < (OCT_BYTES[alg] as number))
        throw new KeyTooWeakError(`${alg} needs at least ${OCT_BYTES[alg]} secret bytes`);
      if (alg.startsWith('A') && secretKey.symmetricKeySize !== OCT_BYTES[alg])
        throw new KeyAlgMismatchError(`${alg} needs exactly ${OCT_BYTES[alg]} secret bytes`);
      return { kid: kid ?? encodeBase64url(randomBytes(16)), alg, use: expectedUse, kty, secretKey };
    }
    const isPrivate = typeof jwk.d === 'string';
    if (isPrivate && opts.public)
      throw new KeyInvalidError('private material given where a public key was asked for');
    const input = { key: jwk as never, format: 'jwk' as const };
    const privateKey = isPrivate ? createPrivateKey(input) : undefined;
    const publicKey = privateKey ? createPublicKey(privateKey) : createPublicKey(input);
    return bindKeyObjects(alg, { publicKey, ...(privateKey ? { privateKey } : {}) }, kid);
  } catch (e) {
    if (e instanceof KeyTooWeakError || e instanceof KeyInvalidError || e instanceof KeyAlgMismatchError)
      throw e;
    throw new KeyInvalidError('JWK key material is invalid');
  }
}

/** Public keys only (an oct key is never published). */
export function buildJwks(keys: OfftokenKey[]): Jwks {
  return { keys: keys.filter((k) => k.kty !== 'oct').map((k) => exportJwk(k)) };
}

function bigint(member: unknown): bigint | undefined {
  if (typeof member !== 'string' || member.length === 0 || !isBase64url(member)) return undefined;
  return BigInt(`0x${Buffer.from(member, 'base64url').toString('hex') || '0'}`);
}

/**
 * A private JWK stores its public members beside the private ones, and node imports an EC or RSA key without
 * checking that they belong together (an Ed25519 key's public half is derived from d). A private part damaged by
 * bit rot or a bad copy would then sign under the kid while the published public key refuses every signature.
 * True when the private members derive the stored public ones: Ed25519 x from d, EC (x, y) = d*G, RSA
 * n = p*q with dp, dq, qi (RFC 7518 6.3.2) consistent with d and e.
 */
export function privateJwkMatchesPublic(jwk: Jwk, privateKey: KeyObject): boolean {
  try {
    if (jwk.kty === 'OKP') {
      const derived = createPublicKey(privateKey).export({ format: 'jwk' }) as Jwk;
      return typeof jwk.x === 'string' && derived.x === jwk.x;
    }
    if (jwk.kty === 'EC') {
      const curve = ECDH_CURVE[jwk.crv as string];
      if (
        curve === undefined ||
        typeof jwk.d !== 'string' ||
        typeof jwk.x !== 'string' ||
        typeof jwk.y !== 'string'
      )
        return false;
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
      // Uncompressed point: 0x04 || X || Y, each coordinate the curve's field size.
      const point = ecdh.getPublicKey();
      const size = (point.length - 1) / 2;
      return (
        point.subarray(1, 1 + size).equals(Buffer.from(jwk.x, 'base64url')) &&
        point.subarray(1 + size).equals(Buffer.from(jwk.y, 'base64url'))
      );
    }
    if (jwk.kty === 'RSA') {
      const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(
        bigint,
      );
      if (!n || !e || !d || !p || !q || !dp || !dq || !qi || p < 3n || q < 3n) return false;
      return (
        p * q === n &&
        d % (p - 1n) === dp &&
        d % (q - 1n) === dq &&
        (e * dp) % (p - 1n) === 1n &&
        (e * dq) % (q - 1n) === 1n &&
        (qi * q) % p === 1n
      );
    }
    return true;
  } catch {
    return false;
  }
}
