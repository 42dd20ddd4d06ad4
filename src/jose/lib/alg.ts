import { constants, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import { JoseAlgNotAllowedError, JoseKeyMismatchError, JoseNotSupportedError } from '../../errors/jose.js';
import type { JwsAlg } from '../types.js';

type Kind = 'hmac' | 'rsa' | 'pss' | 'ec' | 'ed';

export interface AlgSpec {
  kind: Kind;
  /** Digest for node:crypto; null for EdDSA. */
  hash: string | null;
  /** HMAC: minimum secret bytes (RFC 7518 3.2); EC: named curve; EC: raw signature length. */
  minSecret?: number;
  curve?: string;
  sigLength?: number;
}

export const ALGS: Readonly<Record<JwsAlg, AlgSpec>> = {
  HS256: { kind: 'hmac', hash: 'sha256', minSecret: 32 },
  HS384: { kind: 'hmac', hash: 'sha384', minSecret: 48 },
  HS512: { kind: 'hmac', hash: 'sha512', minSecret: 64 },
  RS256: { kind: 'rsa', hash: 'sha256' },
  RS384: { kind: 'rsa', hash: 'sha384' },
  RS512: { kind: 'rsa', hash: 'sha512' },
  PS256: { kind: 'pss', hash: 'sha256' },
  PS384: { kind: 'pss', hash: 'sha384' },
  PS512: { kind: 'pss', hash: 'sha512' },
  ES256: { kind: 'ec', hash: 'sha256', curve: 'prime256v1', sigLength: 64 },
  ES384: { kind: 'ec', hash: 'sha384', curve: 'secp384r1', sigLength: 96 },
  ES512: { kind: 'ec', hash: 'sha512', curve: 'secp521r1', sigLength: 132 },
  EdDSA: { kind: 'ed', hash: null },
};

// The specs with their alg, built once: the verify hot path looks one up per token and must not allocate.
const WITH_ALG = new Map<string, Readonly<AlgSpec & { alg: JwsAlg }>>(
  Object.entries(ALGS).map(([alg, spec]) => [alg, Object.freeze({ ...spec, alg: alg as JwsAlg })]),
);

export function algSpec(
  alg: unknown,
  allowed: readonly string[] | undefined,
): Readonly<AlgSpec & { alg: JwsAlg }> {
  if (typeof alg !== 'string') throw new JoseAlgNotAllowedError('the header has no alg');
  const spec = WITH_ALG.get(alg);
  if (spec !== undefined && (allowed === undefined || allowed.includes(alg))) return spec;
  if (alg.toLowerCase() === 'none') throw new JoseAlgNotAllowedError('alg none is never accepted');
  if (allowed !== undefined && !allowed.includes(alg))
    throw new JoseAlgNotAllowedError(`alg ${alg.slice(0, 16)} is not in the allowed algorithms`);
  throw new JoseNotSupportedError(`alg ${alg.slice(0, 16)} is not supported`);
}

// A key, once checked for an alg, is remembered so the hot path does not re-inspect its details.
const checked = new WeakMap<KeyObject, string>();

/**
 * The guard against algorithm confusion (RFC 8725 3.1): the alg decides the key type, never the other way
 * round. An RSA/EC public key can never serve as an HMAC secret, ES256 needs P-256, EdDSA needs Ed25519.
 */
export function checkKey(alg: JwsAlg, spec: AlgSpec, key: KeyObject, usage: 'sign' | 'verify'): void {
  if (checked.get(key) === alg && (usage === 'verify' || key.type !== 'public')) return;
  if (typeof key !== 'object' || key === null || typeof (key as KeyObject).type !== 'string')
    throw notAKeyObject(key);
  if (spec.kind === 'hmac') {
    if (key.type !== 'secret')
      throw new JoseKeyMismatchError(`${alg} needs a secret key, not a ${key.type} key`);
    if ((key.symmetricKeySize ?? 0) < spec.minSecret!)
      throw new JoseKeyMismatchError(`${alg} needs a secret of at least ${spec.minSecret} bytes`);
  } else {
    if (key.type === 'secret') throw new JoseKeyMismatchError(`${alg} needs an asymmetric key, not a secret`);
    if (usage === 'sign' && key.type !== 'private')
      throw new JoseKeyMismatchError(`signing with ${alg} needs a private key`);
    const t = key.asymmetricKeyType;
    const d = key.asymmetricKeyDetails;
    const ok =
      spec.kind === 'ed'
        ? t === 'ed25519'
        : spec.kind === 'ec'
          ? t === 'ec' && d?.namedCurve === spec.curve
          : spec.kind === 'pss'
            ? (t === 'rsa' || t === 'rsa-pss') && (d?.modulusLength ?? 0) >= 2048
            : t === 'rsa' && (d?.modulusLength ?? 0) >= 2048;
    if (!ok)
      throw new JoseKeyMismatchError(
        `the key (${t}${d?.namedCurve ? ` ${d.namedCurve}` : ''}) does not fit ${alg}`,
      );
  }
  checked.set(key, alg);
}

// A key source where a KeyObject was due is a wrong argument, not a key that does not fit the alg: the error
// says where such a source is accepted.
function notAKeyObject(key: unknown): Error {
  const o = key as { then?: unknown; resolve?: unknown } | null;
  if (typeof o?.then === 'function') {
    // It will not be awaited: a rejection must not go unhandled.
    Promise.resolve(o).catch(() => {});
    return new InvalidArgumentError(
      'the key resolver returned a Promise: an asynchronous source (a RemoteJwks) needs verifyJwtAsync or JwtVerifier.verifyAsync',
    );
  }
  if (typeof o?.resolve === 'function')
    return new InvalidArgumentError(
      'a key source object (Keyring, LocalJwks, RemoteJwks) goes to verifyJwtAsync or JwtVerifier; verifyJws and verifyJwt take a KeyObject or its .resolve',
    );
  return new JoseKeyMismatchError('the key must be a node:crypto KeyObject');
}

/** Options for crypto.sign/verify for an asymmetric alg. */
export function asymmetricParams(spec: AlgSpec, key: KeyObject) {
  if (spec.kind === 'ec') return { key, dsaEncoding: 'ieee-p1363' as const };
  if (spec.kind === 'pss')
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  return key;
}
