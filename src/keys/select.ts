import { JwksMultipleMatchingKeysError, JwksNoMatchingKeyError } from '../errors/keys.js';
import type { KeySelector, OfftokenKey } from './types.js';

/**
 * Whether a key answers a selector: same kid (when the header has one), same alg (a `dir` JWE names its key
 * by `enc`), same use (when asked), and `now` inside the key's own not-before/not-after window.
 */
export function keyMatches(k: OfftokenKey, sel: KeySelector, now?: number): boolean {
  if (sel.kid !== undefined && k.kid !== sel.kid) return false;
  if (sel.alg !== undefined && k.alg !== sel.alg && !(sel.alg === 'dir' && k.alg === sel.enc)) return false;
  if (sel.use !== undefined && k.use !== sel.use) return false;
  if (now !== undefined) {
    if (k.nbf !== undefined && now < k.nbf) return false;
    if (k.exp !== undefined && now >= k.exp) return false;
  }
  return true;
}

/**
 * Selects exactly one key by kid/alg/use. None is ERR_JWKS_NO_MATCHING_KEY; several (a header without kid
 * over a set with two keys of its alg) is ERR_JWKS_MULTIPLE_MATCHING_KEYS rather than a guess.
 */
export function selectKey(keys: Iterable<OfftokenKey>, sel: KeySelector, now?: number): OfftokenKey {
  let found: OfftokenKey | undefined;
  for (const k of keys) {
    if (!keyMatches(k, sel, now)) continue;
    if (found !== undefined)
      throw new JwksMultipleMatchingKeysError('several keys match; the token must carry a kid');
    found = k;
  }
  if (found === undefined) throw new JwksNoMatchingKeyError('no key matches the token header');
  return found;
}

/**
 * The selector a JOSE header implies: its kid, alg and (JWE) enc, nothing else the sender wrote. A key's alg
 * fixes its use, so matching the alg already keeps signature and encryption keys apart.
 */
export function headerSelector(header: KeySelector): KeySelector {
  const sel: KeySelector = {};
  if (header.kid !== undefined) sel.kid = header.kid;
  if (header.alg !== undefined) sel.alg = header.alg;
  if (header.enc !== undefined) sel.enc = header.enc;
  return sel;
}
