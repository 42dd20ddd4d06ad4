import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isBase64url } from '../encoding/base64url.js';
import { InputTooLargeError, InvalidArgumentError, OfftokenError } from '../errors/base.js';
import {
  KeyfileDecryptFailedError,
  KeyfileInvalidError,
  KeyfilePermissionsError,
  KeyInvalidError,
} from '../errors/keys.js';
import { exportJwk, importJwk, privateJwkMatchesPublic } from './jwk.js';
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
  if (typeof passphrase !== 'string' || passphrase.length === 0)
    throw new InvalidArgumentError('the passphrase must be a non-empty string');
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
  if (
    typeof k !== 'object' ||
    k === null ||
    k.name !== 'scrypt' ||
    sealed.enc !== 'A256GCM' ||
    typeof k.salt !== 'string'
  )
    throw new KeyfileInvalidError('unsupported key file encryption');
  if (!Number.isInteger(k.logN) || k.logN < MIN_LOG_N || k.logN > MAX_LOG_N || k.r !== 8 || k.p !== 1)
    throw new KeyfileInvalidError('scrypt parameters out of bounds');
  if (typeof passphrase !== 'string' || passphrase.length === 0)
    throw new KeyfileDecryptFailedError('a passphrase is required');
  if (!isBase64url(k.salt) || Buffer.from(k.salt, 'base64url').length < 16)
    throw new KeyfileInvalidError('the scrypt salt must be at least 16 bytes of base64url');
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
  if (
    typeof sealed.iv !== 'string' ||
    typeof sealed.tag !== 'string' ||
    typeof sealed.ct !== 'string' ||
    !isBase64url(sealed.iv) ||
    !isBase64url(sealed.tag) ||
    !isBase64url(sealed.ct) ||
    Buffer.from(sealed.iv, 'base64url').length !== 12 ||
    Buffer.from(sealed.tag, 'base64url').length !== 16
  )
    throw new KeyfileInvalidError('the key file needs a 96-bit iv, a 128-bit tag and base64url ciphertext');
  try {
    // authTagLength pins the tag at 128 bits: GCM would otherwise accept a truncated (forgeable) tag.
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'), {
      authTagLength: 16,
    });
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
  if (opts.passphrase !== undefined && (typeof opts.passphrase !== 'string' || opts.passphrase.length === 0))
    throw new InvalidArgumentError('the passphrase must be a non-empty string');
  const body =
    opts.passphrase !== undefined && hasPrivate
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
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export async function writeKeyFile(
  path: string,
  key: OfftokenKey,
  opts: { passphrase?: string } = {},
): Promise<void> {
  writeKeyFileSync(path, key, opts);
}

/**
 * Reads a private-key-bearing file through one descriptor (stat and read see the same file, no TOCTOU
 * swap) within `maxBytes`, refusing group/world-readable private files unless `force`. Shared with the
 * service-account reader so both apply the same rule.
 */
export function readPrivateFileSync(
  path: string,
  opts: { force?: boolean; maxBytes?: number; isPrivate: (text: string) => boolean },
): string {
  const max = opts.maxBytes ?? MAX_FILE;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new KeyfileInvalidError('the key file cannot be opened');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyfileInvalidError('the key file is not a regular file');
    if (st.size > max) throw new InputTooLargeError(`the key file exceeds ${max} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    const text = buf.subarray(0, off).toString('utf8');
    // POSIX mode bits only: on Windows they do not describe who can read the file.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0 && !opts.force && opts.isPrivate(text))
      throw new KeyfilePermissionsError(
        'the private key file is group/world-accessible; chmod 600 it or pass force',
      );
    return text;
  } catch (e) {
    if (e instanceof OfftokenError) throw e;
    throw new KeyfileInvalidError('the key file cannot be read');
  } finally {
    closeSync(fd);
  }
}

interface KeyFileDoc {
  v?: unknown;
  type?: unknown;
  kid?: unknown;
  alg?: unknown;
  jwk?: Jwk;
  encrypted?: Sealed;
}

function parseDoc(text: string): KeyFileDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyfileInvalidError('the key file is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new KeyfileInvalidError('the key file is not a JSON object');
  return doc as KeyFileDoc;
}

/**
 * What a JSON file given where a key file was expected is instead, in words: a JWKS or a bare JWK (public keys
 * published for verifiers) or a service-account file are the usual mix-ups, and "unsupported version" would
 * not tell the user which file they passed.
 */
export function notAKeyFile(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  if (Array.isArray(d.keys))
    return 'the file is a JWKS (a set of public keys), not an offtoken key file (offtoken keys generate)';
  if (typeof d.kty === 'string')
    return 'the file is a bare JWK, not an offtoken key file (offtoken keys generate)';
  if (d.type === 'service_account')
    return 'the file is a service-account file, not an offtoken key file (offtoken keys generate)';
  return undefined;
}

function docIsPrivate(doc: KeyFileDoc): boolean {
  return (
    doc.encrypted !== undefined ||
    (typeof doc.jwk === 'object' &&
      doc.jwk !== null &&
      (typeof doc.jwk.d === 'string' || doc.jwk.kty === 'oct'))
  );
}

export function readKeyFileSync(
  path: string,
  opts: { passphrase?: string; force?: boolean } = {},
): OfftokenKey {
  const text = readPrivateFileSync(path, {
    ...(opts.force !== undefined ? { force: opts.force } : {}),
    isPrivate: (t) => {
      // An unparsable file is treated as private: the permission check must not be skippable by garbage.
      try {
        return docIsPrivate(parseDoc(t));
      } catch {
        return true;
      }
    },
  });
  const doc = parseDoc(text);
  if (doc.v !== 1) throw new KeyfileInvalidError(notAKeyFile(doc) ?? 'unsupported key file version');
  if (doc.type !== undefined && doc.type !== 'offtoken-key')
    throw new KeyfileInvalidError('not an offtoken key file');
  let jwk: Jwk;
  if (doc.encrypted !== undefined) {
    if (!opts.passphrase)
      throw new KeyfileDecryptFailedError('key file is encrypted; a passphrase is required');
    if (typeof doc.encrypted !== 'object' || doc.encrypted === null)
      throw new KeyfileInvalidError('unsupported key file encryption');
    const plain = decryptWithPassphrase(doc.encrypted, opts.passphrase).toString('utf8');
    try {
      jwk = JSON.parse(plain) as Jwk;
    } catch {
      throw new KeyfileInvalidError('the decrypted key is not a JWK');
    }
  } else if (typeof doc.jwk === 'object' && doc.jwk !== null) jwk = doc.jwk;
  else throw new KeyfileInvalidError('key file has no key');
  // The outer kid/alg are unauthenticated labels (for `ls`-style tooling); they must not contradict the key.
  if ((doc.kid !== undefined && doc.kid !== jwk.kid) || (doc.alg !== undefined && doc.alg !== jwk.alg))
    throw new KeyfileInvalidError('the key file kid/alg do not match its key');
  let key: OfftokenKey;
  try {
    key = importJwk(jwk);
  } catch (e) {
    // Newer OpenSSL (Node 24) refuses a private JWK whose members disagree when it is imported: the same damage
    if (e instanceof KeyInvalidError && typeof jwk.d === 'string')
      throw new KeyfileInvalidError(
        'the key file is damaged: its private key does not match its stored public key; restore it from a backup',
      );
    throw e;
  }
  if (key.privateKey !== undefined && !privateJwkMatchesPublic(jwk, key.privateKey))
    throw new KeyfileInvalidError(
      'the key file is damaged: its private key does not derive its stored public key; restore it from a backup',
    );
  return key;
}

export async function readKeyFile(
  path: string,
  opts: { passphrase?: string; force?: boolean } = {},
): Promise<OfftokenKey> {
  return readKeyFileSync(path, opts);
}
