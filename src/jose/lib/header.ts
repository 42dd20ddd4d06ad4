import { isBase64url } from '../../encoding/base64url.js';
import { InputTooLargeError } from '../../errors/base.js';
import { JoseCritUnsupportedError, JoseHeaderInvalidError } from '../../errors/jose.js';
import type { JwsHeader } from '../types.js';
import { DEFAULT_MAX_DEPTH, parseJsonObject } from './json.js';

export const MAX_HEADER_CHARS = 4096;

// Headers repeat across tokens from the same issuer: a parsed header is kept per exact segment string.
// Bounded so hostile traffic cannot grow it; entries are frozen so callers cannot alter the shared copy.
const cache = new Map<string, JwsHeader>();
const CACHE_MAX = 256;

export function parseProtectedHeader(segment: string, onMalformed: (m: string) => Error): JwsHeader {
  const hit = cache.get(segment);
  if (hit !== undefined) return hit;
  if (segment.length > MAX_HEADER_CHARS) throw new InputTooLargeError('the protected header is too large');
  if (segment.length === 0 || !isBase64url(segment))
    throw onMalformed('the protected header is not base64url');
  const header = parseJsonObject(
    Buffer.from(segment, 'base64url').toString('utf8'),
    { maxDepth: 8, rejectDuplicates: true },
    (reason) => new JoseHeaderInvalidError(`the protected header ${reason}`),
  ) as JwsHeader;
  // RFC 7797: an unencoded payload changes what is signed; offtoken never accepts it.
  if ('b64' in header && header.b64 !== true)
    throw new JoseHeaderInvalidError('b64: false payloads are not accepted');
  deepFreeze(header);
  // An ECDH-ES header carries a fresh epk per token: caching it would only evict the issuers' fixed headers.
  if ('epk' in header) return header;
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(segment, header);
  return header;
}

function deepFreeze(o: object): void {
  Object.freeze(o);
  for (const v of Object.values(o))
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) deepFreeze(v);
}

const REGISTERED = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
  'enc',
  'zip',
  'epk',
  'apu',
  'apv',
  'iv',
  'tag',
  'p2s',
  'p2c',
]);

/** RFC 7515 4.1.11: crit is a non-empty array of extension names, each present and each understood. */
export function validateCrit(header: JwsHeader, understood: readonly string[] | undefined): void {
  if (header.crit === undefined) return;
  const crit = header.crit as unknown;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string'))
    throw new JoseHeaderInvalidError('crit must be a non-empty array of names');
  for (const name of crit as string[]) {
    if (REGISTERED.has(name))
      throw new JoseHeaderInvalidError(`crit must not list the registered name ${name}`);
    if (!Object.hasOwn(header, name))
      throw new JoseHeaderInvalidError(`crit lists ${name.slice(0, 32)} but the header lacks it`);
    if (!understood?.includes(name))
      throw new JoseCritUnsupportedError(`the critical extension ${name.slice(0, 32)} is not understood`);
  }
}

/** Only the JWS/JWE part of a 16 KiB-bounded token is used as a default. */
export const DEFAULT_MAX_TOKEN = 16 * 1024;
export { DEFAULT_MAX_DEPTH };
