import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { OfftokenKey } from '../../src/keys/types.js';

/** Test keys built straight from node:crypto (the OfftokenKey shape is a plain object). */
export function sealedKey(
  bits: 128 | 192 | 256 = 256,
  kid = `s${bits}-${randomBytes(4).toString('hex')}`,
): OfftokenKey {
  return {
    kid,
    alg: `A${bits}GCM`,
    use: 'enc',
    kty: 'oct',
    secretKey: createSecretKey(randomBytes(bits / 8)),
  };
}

export function signedKey(kid = `ed-${randomBytes(4).toString('hex')}`): OfftokenKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, alg: 'EdDSA', use: 'sig', kty: 'OKP', privateKey, publicKey };
}

export function macKey(kid = `hs-${randomBytes(4).toString('hex')}`): OfftokenKey {
  return { kid, alg: 'HS256', use: 'sig', kty: 'oct', secretKey: createSecretKey(randomBytes(32)) };
}

export function publicOnly(k: OfftokenKey): OfftokenKey {
  const { privateKey: _p, ...rest } = k;
  return rest;
}

/** A settable clock. */
export function fixedClock(start = 1_800_000_000): {
  clock: () => number;
  set(t: number): void;
  add(s: number): void;
} {
  let now = start;
  return {
    clock: () => now,
    set(t: number) {
      now = t;
    },
    add(s: number) {
      now += s;
    },
  };
}

/** Asserts that fn throws (or rejects) an error with exactly this code. */
export async function rejectsCode(fn: () => unknown, code: string): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const got = (e as { code?: string }).code;
    if (got !== code) throw new Error(`expected ${code}, got ${got}: ${(e as Error).message}`);
    return;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

export function throwsCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    const got = (e as { code?: string }).code;
    if (got !== code) throw new Error(`expected ${code}, got ${got}: ${(e as Error).message}`);
    return;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

/** A reader's ECDH-ES key pair for nested tokens. */
export function deviceKey(
  crv: 'X25519' | 'P-256' = 'X25519',
  kid = `dev-${randomBytes(4).toString('hex')}`,
): OfftokenKey {
  const { privateKey, publicKey } =
    crv === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ECDH-ES', use: 'enc', kty: crv === 'X25519' ? 'OKP' : 'EC', privateKey, publicKey };
}

/** An ES256 (P-256) signing key, the other issuer key of nested tokens. */
export function es256Key(kid = `es-${randomBytes(4).toString('hex')}`): OfftokenKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg: 'ES256', use: 'sig', kty: 'EC', privateKey, publicKey };
}
