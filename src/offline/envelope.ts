import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import { isBase64url } from '../encoding/base64url.js';
import { InvalidArgumentError, type OfftokenError } from '../errors/base.js';
import {
  OfflineTokenInvalidError,
  OfflineTokenMalformedError,
  OfflineTokenTruncatedError,
  OfflineTokenWrongKeyError,
  OfflineTokenWrongModeError,
} from '../errors/offline.js';
import { ALGS, checkKey } from '../jose/lib/alg.js';
import { parseJsonObject } from '../jose/lib/json.js';
import type { JwsHeader } from '../jose/types.js';
import type { OfflineMode } from './types.js';

/**
 * The three envelopes, all standard JOSE compact serialisations (docs/formats/offline-token.md):
 *   sealed  JWE (RFC 7516) {"alg":"dir","enc":"A256GCM","typ":"offtoken+jwt","kid"?}  h..iv.ct.tag
 *   signed  JWS (RFC 7515) {"alg":"EdDSA","typ":"offtoken+jwt","kid"?}               h.p.sig
 *   mac     JWS            {"alg":"HS256","typ":"offtoken+jwt","kid"?}               h.p.sig
 * The explicit `typ` (RFC 8725 3.11) stops a JWT minted for something else with the same key from being read
 * as an offline token, and the other way round.
 *
 * This is the hot path of `read()`, so it works on node:crypto directly with everything that repeats computed
 * once: the writer's header segment and AAD, the parsed reader header (cached per exact segment string), the
 * key checks. A read is: split, fixed-size segment checks, one base64url decode per part, one crypto call.
 * The structural checks run before any crypto and give each kind of damage its own code: a token cut short is
 * TRUNCATED, re-ordered or mis-sized segments are MALFORMED, a kid this reader does not hold is WRONG_KEY, and
 * a well-formed token whose signature or tag fails is INVALID (tampered).
 */
export const OFFLINE_TYP = 'offtoken+jwt';

export type SealedEnc = 'A128GCM' | 'A192GCM' | 'A256GCM';
export const SEALED_ENCS: readonly SealedEnc[] = ['A128GCM', 'A192GCM', 'A256GCM'];
export const JWS_ALG = { signed: 'EdDSA', mac: 'HS256' } as const;
const ENC_BYTES: Readonly<Record<SealedEnc, number>> = { A128GCM: 16, A192GCM: 24, A256GCM: 32 };
const CIPHER: Readonly<Record<SealedEnc, 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm'>> = {
  A128GCM: 'aes-128-gcm',
  A192GCM: 'aes-192-gcm',
  A256GCM: 'aes-256-gcm',
};
/** base64url length of the fixed-size segments: Ed25519 signature 64 B, HMAC-SHA-256 32 B, GCM IV 12 B, tag 16 B. */
const SIG_CHARS = { signed: 86, mac: 43 } as const;
const IV_CHARS = 16;
const TAG_CHARS = 22;
const MAX_HEADER_CHARS = 1024;

// ---------------------------------------------------------------------------------------------------------
// Writing

/** Everything a writer needs, computed once per key: the header segment is the same for every token. */
export interface EnvelopeWriter {
  mode: OfflineMode;
  key: KeyObject;
  kid: string | undefined;
  headerB64: string;
  /** sealed: the header segment as AAD bytes (RFC 7516 5.1 step 14) and the cipher. */
  aad: Buffer;
  cipher: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
}

export function makeWriter(
  mode: OfflineMode,
  key: KeyObject,
  kid: string | undefined,
  enc: SealedEnc,
): EnvelopeWriter {
  let header: Record<string, string>;
  if (mode === 'sealed') {
    if (key.type !== 'secret' || key.symmetricKeySize !== ENC_BYTES[enc])
      throw new InvalidArgumentError(`${enc} needs a ${ENC_BYTES[enc]}-byte secret key`);
    header = { alg: 'dir', enc, typ: OFFLINE_TYP };
  } else {
    const alg = JWS_ALG[mode];
    checkKey(alg, ALGS[alg], key, 'sign');
    header = { alg, typ: OFFLINE_TYP };
  }
  if (kid !== undefined) header.kid = kid;
  const headerB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  return { mode, key, kid, headerB64, aad: Buffer.from(headerB64, 'latin1'), cipher: CIPHER[enc] };
}

// 96-bit GCM IVs from the CSPRNG, drawn from a pool refilled by one randomFillSync per 256 IVs. Random IVs
// are safe for up to 2^32 tokens per key (NIST SP 800-38D 8.3); rotate sealed keys well before that.
const IV_POOL = Buffer.alloc(12 * 256);
let ivOffset = IV_POOL.length;
function nextIv(): Buffer {
  if (ivOffset + 12 > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = IV_POOL.subarray(ivOffset, ivOffset + 12);
  ivOffset += 12;
  return iv;
}

/** Wraps the claims JSON in the writer's envelope. */
export function seal(claimsJson: string, w: EnvelopeWriter): string {
  if (w.mode === 'sealed') {
    const iv = nextIv();
    const c = createCipheriv(w.cipher, w.key, iv, { authTagLength: 16 });
    c.setAAD(w.aad);
    const ct = c.update(claimsJson, 'utf8');
    c.final();
    return `${w.headerB64}..${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }
  const input = `${w.headerB64}.${Buffer.from(claimsJson, 'utf8').toString('base64url')}`;
  const sig =
    w.mode === 'mac'
      ? createHmac('sha256', w.key).update(input, 'latin1').digest()
      : edSign(null, Buffer.from(input, 'latin1'), w.key);
  return `${input}.${sig.toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** A single key (with the kid it answers to), or a resolver from the header (a keyring). */
export type ReadKey = { key: KeyObject; kid: string | undefined } | ((header: JwsHeader) => KeyObject);

interface HeaderInfo {
  header: Record<string, unknown>;
  /** The mode the header claims, undefined for an algorithm offline tokens never use. */
  mode: OfflineMode | undefined;
  kid: string | undefined;
  enc: SealedEnc | undefined;
  aad: Buffer;
  /** A refusal decided by the header alone (kept in the cache so a repeat costs nothing). */
  problem: OfftokenError | undefined;
}

// Headers repeat across every token of an issuer: a parsed header is kept per exact segment string. Bounded,
// so hostile traffic cannot grow it; an entry is frozen so no caller can alter the shared copy.
const headerCache = new Map<string, HeaderInfo>();
const HEADER_CACHE_MAX = 64;

// RFC 4648 3.5: a base64url string whose length is not a multiple of 4 ends in a character with unused low
// bits, which decoders ignore. Requiring them to be zero gives every byte string exactly one encoding, so a
// token cannot be re-spelt (for a cache or log keyed by the token string) while still verifying.
const B64URL_VALUE = new Int8Array(128).fill(-1);
for (const [i, ch] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries())
  B64URL_VALUE[ch.charCodeAt(0)] = i;
function canonicalTail(seg: string): boolean {
  const unused = (seg.length * 6) % 8;
  if (unused === 0) return true;
  const v = B64URL_VALUE[seg.charCodeAt(seg.length - 1)] ?? -1;
  return v >= 0 && (v & ((1 << unused) - 1)) === 0;
}

function malformed(m: string): OfflineTokenMalformedError {
  return new OfflineTokenMalformedError(m);
}

function headerInfo(segment: string): HeaderInfo {
  const hit = headerCache.get(segment);
  if (hit !== undefined) return hit;
  if (segment.length === 0 || segment.length > MAX_HEADER_CHARS || !isBase64url(segment))
    throw malformed('the token does not start with a base64url JOSE header');
  let header: Record<string, unknown>;
  try {
    header = parseJsonObject(
      Buffer.from(segment, 'base64url').toString('utf8'),
      { maxDepth: 4, rejectDuplicates: true },
      (reason) => malformed(`the token header ${reason}`),
    ) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof OfflineTokenMalformedError) throw e;
    throw malformed('the token header is not a JSON object');
  }
  const { alg, enc, kid } = header;
  const mode: OfflineMode | undefined =
    alg === 'dir' && SEALED_ENCS.includes(enc as SealedEnc)
      ? 'sealed'
      : alg === 'EdDSA'
        ? 'signed'
        : alg === 'HS256'
          ? 'mac'
          : undefined;
  let problem: OfftokenError | undefined;
  if (typeof alg !== 'string')
    problem = malformed('the first segment is not a JOSE header (no alg): segments out of place');
  else if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256))
    problem = malformed('the kid header must be a short string');
  else if (mode === undefined)
    problem = new OfflineTokenInvalidError(
      `alg ${String(alg).slice(0, 16)}${alg === 'dir' ? ` with enc ${String(enc).slice(0, 16)}` : ''} is not an offline-token algorithm`,
    );
  else if (header.typ !== OFFLINE_TYP)
    problem = new OfflineTokenInvalidError(
      `the token's typ is not ${OFFLINE_TYP}: it was minted for something else`,
    );
  // RFC 7515 4.1.11: a critical extension we do not understand must be refused; offtoken understands none.
  else if (header.crit !== undefined)
    problem = new OfflineTokenInvalidError('the token lists critical header extensions');
  // No zip (compression before encryption leaks length), no RFC 7797 unencoded payloads.
  else if (header.zip !== undefined || header.b64 !== undefined)
    problem = new OfflineTokenInvalidError('zip and b64 headers are not accepted in offline tokens');
  const info: HeaderInfo = {
    header: Object.freeze(header),
    mode,
    kid: kid as string | undefined,
    enc: mode === 'sealed' ? (enc as SealedEnc) : undefined,
    aad: Buffer.from(segment, 'latin1'),
    problem,
  };
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.delete(headerCache.keys().next().value as string);
  headerCache.set(segment, info);
  return info;
}

export interface Opened {
  header: Readonly<Record<string, unknown>>;
  kid: string | undefined;
  payload: Buffer;
}

function resolveKey(readKey: ReadKey, info: HeaderInfo, mode: OfflineMode): KeyObject {
  if (typeof readKey !== 'function') {
    if (info.kid !== undefined && readKey.kid !== undefined && info.kid !== readKey.kid)
      throw new OfflineTokenWrongKeyError(
        `the token was made with key ${info.kid.slice(0, 64)}, this reader holds ${readKey.kid.slice(0, 64)}`,
      );
    return readKey.key;
  }
  let key: KeyObject;
  try {
    key = readKey(info.header as unknown as JwsHeader);
    if (mode !== 'sealed') checkKey(JWS_ALG[mode], ALGS[JWS_ALG[mode]], key, 'verify');
  } catch (e) {
    throw new OfflineTokenWrongKeyError(
      `no key of this reader fits the token${info.kid !== undefined ? ` (kid ${info.kid.slice(0, 64)})` : ''}`,
      { cause: e },
    );
  }
  return key;
}

/**
 * Verifies (signed, mac) or decrypts (sealed) a token of `mode`. Every failure is a typed error: TRUNCATED,
 * MALFORMED, WRONG_MODE, WRONG_KEY, or INVALID when the envelope is sound but the signature or tag is not.
 */
export function open(token: string, mode: OfflineMode, readKey: ReadKey): Opened {
  const d1 = token.indexOf('.');
  const info = headerInfo(d1 < 0 ? token : token.slice(0, d1));
  if (info.mode !== mode) {
    if (info.mode !== undefined)
      throw new OfflineTokenWrongModeError(
        `this is a ${info.mode} token but the reader expects ${mode} tokens`,
      );
    throw info.problem!;
  }
  if (info.problem) throw info.problem;
  if (d1 < 0) throw new OfflineTokenTruncatedError('the token ends after its header');

  if (mode === 'sealed') {
    // h . "" . iv . ct . tag  (RFC 7516 7.1; alg dir has an empty encrypted key)
    const d2 = token.indexOf('.', d1 + 1);
    const d3 = d2 < 0 ? -1 : token.indexOf('.', d2 + 1);
    const d4 = d3 < 0 ? -1 : token.indexOf('.', d3 + 1);
    if (d4 < 0) throw new OfflineTokenTruncatedError('a sealed token has five segments; this one ends early');
    if (token.indexOf('.', d4 + 1) !== -1) throw malformed('a sealed token has exactly five segments');
    if (d2 !== d1 + 1) throw malformed('alg dir has an empty encrypted-key segment');
    const ivSeg = token.slice(d2 + 1, d3);
    const ctSeg = token.slice(d3 + 1, d4);
    const tagSeg = token.slice(d4 + 1);
    if (ivSeg.length !== IV_CHARS || !isBase64url(ivSeg))
      throw malformed('the IV segment is not a 96-bit base64url value: segments out of place');
    if (ctSeg.length === 0 || !isBase64url(ctSeg) || !canonicalTail(ctSeg))
      throw malformed('the ciphertext segment is not canonical base64url');
    if (tagSeg.length < TAG_CHARS)
      throw new OfflineTokenTruncatedError('the authentication tag is cut short');
    if (tagSeg.length > TAG_CHARS || !isBase64url(tagSeg) || !canonicalTail(tagSeg))
      throw malformed(
        'the tag segment is not a canonical 128-bit base64url value: segments out of place or re-spelt',
      );
    const key = resolveKey(readKey, info, mode);
    if (key.type !== 'secret' || key.symmetricKeySize !== ENC_BYTES[info.enc!])
      throw new OfflineTokenWrongKeyError(`the token is ${info.enc} but this reader's key is another size`);
    let payload: Buffer;
    try {
      const d = createDecipheriv(CIPHER[info.enc!], key, Buffer.from(ivSeg, 'base64url'), {
        authTagLength: 16,
      });
      d.setAAD(info.aad);
      d.setAuthTag(Buffer.from(tagSeg, 'base64url'));
      payload = d.update(Buffer.from(ctSeg, 'base64url'));
      d.final();
    } catch {
      throw new OfflineTokenInvalidError(
        'the token does not decrypt: it was altered, or sealed with another key',
      );
    }
    return { header: info.header, kid: info.kid, payload };
  }

  // h . p . sig
  const d2 = token.indexOf('.', d1 + 1);
  if (d2 < 0) throw new OfflineTokenTruncatedError('the token has no signature segment');
  if (token.indexOf('.', d2 + 1) !== -1) throw malformed('a signed or mac token has exactly three segments');
  if (d2 === d1 + 1) throw malformed('the payload segment is empty');
  const sigSeg = token.slice(d2 + 1);
  const want = SIG_CHARS[mode];
  if (sigSeg.length < want) throw new OfflineTokenTruncatedError('the signature is cut short');
  if (sigSeg.length > want || !isBase64url(sigSeg) || !canonicalTail(sigSeg))
    throw malformed(
      'the signature segment is not canonical base64url of the right size: segments out of place or re-spelt',
    );
  const key = resolveKey(readKey, info, mode);
  const sig = Buffer.from(sigSeg, 'base64url');
  const input = token.slice(0, d2);
  let ok: boolean;
  if (mode === 'mac') {
    const mac = createHmac('sha256', key).update(input, 'latin1').digest();
    ok = timingSafeEqual(mac, sig);
  } else {
    ok = edVerify(null, Buffer.from(input, 'latin1'), key, sig);
  }
  if (!ok)
    throw new OfflineTokenInvalidError(
      'the signature does not verify: the token was altered, or signed with another key',
    );
  // The signature covers the payload segment as characters, not its decoded bytes, so no re-encoding of the
  // same claims verifies: unlike the sealed segments (whose tag covers bytes) it needs no strictness check.
  return { header: info.header, kid: info.kid, payload: Buffer.from(token.slice(d1 + 1, d2), 'base64url') };
}
