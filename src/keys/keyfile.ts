import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { InputTooLargeError } from '../errors/base.js';
import { KeyfileDecryptFailedError, KeyfileInvalidError, KeyfilePermissionsError } from '../errors/keys.js';
import { exportJwk, importJwk } from './jwk.js';
import type { Jwk, OfftokenKey } from './types.js';

const MAX_FILE = 64 * 1024;
// Bounds on read so a hostile file cannot demand huge scrypt memory (128*N*r bytes).
const MIN_LOG_N = 15;
const MAX_LOG_N = 20;

interface Sealed {
  kdf: { name: 'scrypt'; logN: number; r: number; p: number; salt: string };
  enc: 'A256GCM';
  iv: string;
  ct: string;
  tag: string;
}

function aad(v: number, s: Omit<Sealed, 'ct' | 'tag' | 'iv'>): Buffer {
  return Buffer.from(JSON.stringify({ v, kdf: s.kdf, enc: s.enc }));
}

export function encryptWithPassphrase(plaintext: Uint8Array, passphrase: string): Sealed {
  const kdf = {
    name: 'scrypt' as const,
    logN: MIN_LOG_N,
    r: 8,
    p: 1,
    salt: randomBytes(16).toString('base64url'),
  };
  const key = scryptSync(passphrase, Buffer.from(kdf.salt, 'base64url'), 32, {
    N: 2 ** kdf.logN,
    r: kdf.r,
    p: kdf.p,
    maxmem: 256 * 2 ** kdf.logN * kdf.r,
  });
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad(1, { kdf, enc: 'A256GCM' }));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return {
    kdf,
    enc: 'A256GCM',
    iv: iv.toString('base64url'),
    ct: ct.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
  };
}

export function decryptWithPassphrase(sealed: Sealed, passphrase: string): Buffer {
  const k = sealed?.kdf;
  if (!k || k.name !== 'scrypt' || sealed.enc !== 'A256GCM' || typeof k.salt !== 'string')
    throw new KeyfileInvalidError('unsupported key file encryption');
  if (!Number.isInteger(k.logN) || k.logN < MIN_LOG_N || k.logN > MAX_LOG_N || k.r !== 8 || k.p !== 1)
    throw new KeyfileInvalidError('scrypt parameters out of bounds');
  let key: Buffer;
  try {
    key = scryptSync(passphrase, Buffer.from(k.salt, 'base64url'), 32, {
      N: 2 ** k.logN,
      r: 8,
      p: 1,
      maxmem: 256 * 2 ** k.logN * 8,
    });
  } catch {
    throw new KeyfileInvalidError('scrypt failed');
  }
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'));
    d.setAAD(aad(1, { kdf: k, enc: sealed.enc }));
    d.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(sealed.ct, 'base64url')), d.final()]);
  } catch {
    throw new KeyfileDecryptFailedError('wrong passphrase or tampered key file');
  }
}

export function writeKeyFileSync(path: string, key: OfftokenKey, opts: { passphrase?: string } = {}): void {
  const hasPrivate = key.privateKey !== undefined || key.secretKey !== undefined;
  const jwk = exportJwk(key, { private: hasPrivate });
  const body =
    opts.passphrase && hasPrivate
      ? {
          v: 1,
          type: 'offtoken-key',
          kid: key.kid,
          alg: key.alg,
          encrypted: encryptWithPassphrase(Buffer.from(JSON.stringify(jwk)), opts.passphrase),
        }
      : { v: 1, type: 'offtoken-key', kid: key.kid, alg: key.alg, jwk };
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: hasPrivate ? 0o600 : 0o644, flag: 'wx' });
  renameSync(tmp, path);
}

export async function writeKeyFile(
  path: string,
  key: OfftokenKey,
  opts: { passphrase?: string } = {},
): Promise<void> {
  writeKeyFileSync(path, key, opts);
}

export function readKeyFileSync(
  path: string,
  opts: { passphrase?: string; force?: boolean } = {},
): OfftokenKey {
  const st = statSync(path);
  if (st.size > MAX_FILE) throw new InputTooLargeError('key file too large');
  let doc: { v?: unknown; jwk?: Jwk; encrypted?: Sealed };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new KeyfileInvalidError('key file is not JSON');
  }
  if (doc?.v !== 1) throw new KeyfileInvalidError('unsupported key file version');
  const isPrivate =
    doc.encrypted !== undefined ||
    (doc.jwk !== undefined && (typeof doc.jwk.d === 'string' || doc.jwk.kty === 'oct'));
  if (isPrivate && (st.mode & 0o077) !== 0 && !opts.force)
    throw new KeyfilePermissionsError('private key file is group/world-readable; chmod 600 it or pass force');
  let jwk: Jwk;
  if (doc.encrypted) {
    if (!opts.passphrase)
      throw new KeyfileDecryptFailedError('key file is encrypted; a passphrase is required');
    jwk = JSON.parse(decryptWithPassphrase(doc.encrypted, opts.passphrase).toString('utf8'));
  } else if (doc.jwk) jwk = doc.jwk;
  else throw new KeyfileInvalidError('key file has no key');
  return importJwk(jwk);
}

export async function readKeyFile(
  path: string,
  opts: { passphrase?: string; force?: boolean } = {},
): Promise<OfftokenKey> {
  return readKeyFileSync(path, opts);
}
