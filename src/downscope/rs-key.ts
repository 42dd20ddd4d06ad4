import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { decodeBase64url } from '../encoding/base64url.js';
import { InvalidArgumentError } from '../errors/base.js';

/** The AES-256 key the authority seals session keys to, shared with the resource servers, and its kid. */
export interface ResourceServerKey {
  kid: string;
  key: KeyObject;
}

/**
 * Reads the resource-server key file (`{"kid": "...", "k": "<32 bytes base64url>"}`, mode 0600), or creates
 * one with a CSPRNG key when `create` is set and the file is absent. Resource servers read the same file.
 */
export function loadResourceServerKey(file: string, opts: { create?: boolean } = {}): ResourceServerKey {
  if (!existsSync(file)) {
    if (!opts.create) throw new InvalidArgumentError(`no resource-server key at ${file}`);
    const kid = `rs-${randomBytes(6).toString('base64url')}`;
    const tmp = `${file}.${process.pid}.tmp`;
    const k = randomBytes(32).toString('base64url');
    writeFileSync(tmp, `${JSON.stringify({ kid, k })}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }
  // a key readable by others lets them mint session keys for any intermediary: refuse it
  if ((statSync(file).mode & 0o077) !== 0)
    throw new InvalidArgumentError(`${file} is readable by group or others: chmod 600 it`);
  let o: { kid?: unknown; k?: unknown };
  try {
    o = JSON.parse(readFileSync(file, 'utf8').slice(0, 4096)) as typeof o;
  } catch {
    throw new InvalidArgumentError(`${file} is not a resource-server key file`);
  }
  if (typeof o?.kid !== 'string' || o.kid.length > 128 || typeof o.k !== 'string')
    throw new InvalidArgumentError(`${file} is not a resource-server key file`);
  const raw = decodeBase64url(o.k, 'resource-server key');
  if (raw.length !== 32) throw new InvalidArgumentError('the resource-server key must be 32 bytes');
  return { kid: o.kid, key: createSecretKey(raw) };
}
