import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { StoreKeyInvalidError, StoreKeyMissingError } from '../errors/stores.js';
import { DEFAULT_SQLITE_PATH } from './sqlite.js';

/**
 * The 32-byte key that seals OTP secrets in a store (used by the CLI; library users pass their own).
 * Order: `OFFTOKEN_STORE_KEY` (base64url); else for `sqlite:PATH` the file `PATH.key`, created with
 * mode 0600 on first use. A Redis store has no file beside it, so it needs the environment variable.
 */
export function resolveStoreKey(url: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.OFFTOKEN_STORE_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return checkKey(fromEnv.trim());
  if (!url.startsWith('sqlite:')) {
    throw new StoreKeyMissingError('set OFFTOKEN_STORE_KEY to a base64url 32-byte key for this store');
  }
  const db = url.slice('sqlite:'.length) || DEFAULT_SQLITE_PATH;
  const file = `${db}.key`;
  try {
    // O_EXCL: two processes enrolling at once must not each write a different key.
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, `${encodeBase64url(randomBytes(32))}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StoreKeyInvalidError(`cannot create the store key file ${file}`, { cause: e });
    }
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new StoreKeyInvalidError(`store key file ${file} is readable by group or others; chmod 600 it`);
  }
  return checkKey(readFileSync(file, 'utf8').trim());
}

/**
 * The store key of an authority's data directory: `DIR/otp-store.key`, 32 raw bytes, created 0600 on first use
 * (by `offtoken start` or by `offtoken otp ... --data-dir DIR`, whichever runs first). The CLI and the server
 * both read it here, so a credential enrolled with `--data-dir` opens under the running authority.
 * OFFTOKEN_STORE_KEY does not apply: the server never reads it.
 */
export function dataDirStoreKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'otp-store.key');
  try {
    // the data directory is created as the authority creates it (0700), so `otp enroll --data-dir` may come first
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StoreKeyInvalidError(`cannot create the store key file ${file}`, { cause: e });
    }
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0)
    throw new StoreKeyInvalidError(`${file} is readable by group or others; chmod 600 it`);
  const key = readFileSync(file);
  if (key.length !== 32) throw new StoreKeyInvalidError(`${file} must hold 32 bytes`);
  return key;
}

/** The authority's store in a data directory: the URL `offtoken start` opens. */
export function dataDirStoreUrl(dataDir: string): string {
  return `sqlite:${path.join(dataDir, 'store.db')}`;
}

function checkKey(b64: string): Buffer {
  let key: Buffer;
  try {
    key = Buffer.from(decodeBase64url(b64, 'store key'));
  } catch {
    throw new StoreKeyInvalidError('the store key must be base64url');
  }
  if (key.length !== 32) throw new StoreKeyInvalidError('the store key must be 32 bytes (A256GCM)');
  return key;
}
