import { KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/base.js';
import type { JwsHeader, JwtKeySource } from '../types.js';

/** A resolver that may answer now or later. */
export type AnyKeyResolver = (header: JwsHeader) => KeyObject | Promise<KeyObject>;

const KEY_SOURCES =
  'a KeyObject, a resolver function (header) => KeyObject | Promise<KeyObject>, or an object with a ' +
  'resolve(header) method (a Keyring, LocalJwks or RemoteJwks)';

/**
 * The resolver behind a key source, or undefined for a KeyObject. Objects are recognised by shape (a
 * `resolve` method), not by class: two copies of the package, or a user's own source, must work alike.
 * Anything else is refused here, before the token is looked at, so a wrong argument never surfaces as a
 * misleading key mismatch.
 */
export function resolverOf(source: JwtKeySource, what = 'the key source'): AnyKeyResolver | undefined {
  if (source instanceof KeyObject) return undefined;
  if (typeof source === 'function') return source;
  if (typeof source === 'object' && source !== null && typeof source.resolve === 'function')
    return (header: JwsHeader) => source.resolve(header);
  throw new InvalidArgumentError(`${what} must be ${KEY_SOURCES}${hint(source)}`);
}

function hint(source: unknown): string {
  if (typeof source !== 'object' || source === null) return '';
  const o = source as Record<string, unknown>;
  // An OfftokenKey (what generateKey and readKeyFile return) is the likeliest mistake.
  if (o.publicKey instanceof KeyObject || o.secretKey instanceof KeyObject)
    return ': this looks like an OfftokenKey, pass its publicKey (or secretKey for HMAC) or put it in a Keyring';
  if (Array.isArray(o.keys)) return ': this looks like a JWKS document, wrap it in new LocalJwks(jwks)';
  return '';
}

/** Swallows the rejection of a Promise that will not be awaited; returns undefined. */
export function quiet(v: unknown): undefined {
  if (typeof (v as { then?: unknown } | null)?.then === 'function') Promise.resolve(v).catch(() => {});
  return undefined;
}
