import {
  type CipherGCMTypes,
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
import { JoseKeyMismatchError } from '../errors/jose.js';
import {
  OfflineTokenInvalidError,
  OfflineTokenMalformedError,
  OfflineTokenTruncatedError,
  OfflineTokenWrongKeyError,
  OfflineTokenWrongModeError,
} from '../errors/offline.js';
import {
  concatKdf,
  type EcdhCurve,
  ecdhCurveOf,
  ecdhEsEncryptionKey,
  importEpk,
  partyInfo,
  sharedSecret,
} from '../jose/jwe/ecdh-es.js';
import { ALGS, checkKey } from '../jose/lib/alg.js';
import { parseJsonObject } from '../jose/lib/json.js';
import type { JwsHeader } from '../jose/types.js';
import type { OfflineMode } from './types.js';

/**
 * The three envelopes, all standard JOSE compact serialisations (docs/formats/offline-token.md):
 *   sealed  JWE (RFC 7516) {"alg":"dir","enc":"A256GCM","typ":"offtoken+jwt","kid"?}  h..iv.ct.tag
 *   signed  JWS (RFC 7515) {"alg":"EdDSA","typ":"offtoken+jwt","kid"?}               h.p.sig
 *   mac     JWS            {"alg":"HS256","typ":"offtoken+jwt","kid"?}               h.p.sig
 *   nested  JWE {"alg":"ECDH-ES","enc":"A256GCM","cty":"JWT","typ":"offtoken+jwt","kid"?,"epk"}  h..iv.ct.tag
 *           whose plaintext is a JWS {"alg":"EdDSA"|"ES256","typ":"offtoken+jwt","kid"?} (RFC 7519 5.2)
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
/** The inner signature of a nested token: EdDSA or ES256, fixed by the issuer's key. */
export type NestedAlg = 'EdDSA' | 'ES256';
export const NESTED_ALGS: readonly NestedAlg[] = ['EdDSA', 'ES256'];
/** A nested token's content encryption (RFC 7518 5.3): one choice, so a reader never negotiates it. */
export const NESTED_ENC = 'A256GCM';
type JwsAlgOfToken = NestedAlg | 'HS256';
const ENC_BYTES: Readonly<Record<SealedEnc, number>> = { A128GCM: 16, A192GCM: 24, A256GCM: 32 };
const CIPHER: Readonly<Record<SealedEnc, 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm'>> = {
  A128GCM: 'aes-128-gcm',
  A192GCM: 'aes-192-gcm',
  A256GCM: 'aes-256-gcm',
};
/**
 * base64url length of the fixed-size segments: Ed25519 and ES256 (r||s) signatures 64 B, HMAC-SHA-256 32 B,
 * GCM IV 12 B, tag 16 B.
 */
const SIG_CHARS: Readonly<Record<JwsAlgOfToken, number>> = { EdDSA: 86, ES256: 86, HS256: 43 };
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
  /** signed, mac, nested: the JWS alg (for nested, of the inner JWS). */
  jwsAlg: JwsAlgOfToken | undefined;
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
  let jwsAlg: JwsAlgOfToken | undefined;
  if (mode === 'sealed') {
    if (key.type !== 'secret' || key.symmetricKeySize !== ENC_BYTES[enc])
      throw new InvalidArgumentError(`${enc} needs a ${ENC_BYTES[enc]}-byte secret key`);
    header = { alg: 'dir', enc, typ: OFFLINE_TYP };
  } else {
    // nested: the issuer's key type decides the inner alg (an Ed25519 key signs EdDSA, a P-256 key ES256).
    const alg: JwsAlgOfToken =
      mode === 'nested' ? (key.asymmetricKeyType === 'ec' ? 'ES256' : 'EdDSA') : JWS_ALG[mode];
    checkKey(alg, ALGS[alg], key, 'sign');
    header = { alg, typ: OFFLINE_TYP };
    jwsAlg = alg;
  }
  if (kid !== undefined) header.kid = kid;
  const headerB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  return { mode, key, kid, jwsAlg, headerB64, aad: Buffer.from(headerB64, 'latin1'), cipher: CIPHER[enc] };
}

/** The reader a nested token is encrypted to: its public ECDH-ES key (X25519 or P-256) and its kid. */
export interface NestedRecipient {
  key: KeyObject;
  kid: string | undefined;
}

/** A reader's own key for nested tokens: the ECDH-ES private key, its curve and its kid. */
export interface NestedReader {
  key: KeyObject;
  curve: EcdhCurve;
  kid: string | undefined;
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

/** Wraps the claims JSON in the writer's envelope (nested: signed, then encrypted to `recipient`). */
export function seal(claimsJson: string, w: EnvelopeWriter, recipient?: NestedRecipient): string {
  if (w.mode === 'sealed') {
    return gcmCompact(w.cipher, w.key, w.headerB64, w.aad, Buffer.from(claimsJson, 'utf8'));
  }
  const input = `${w.headerB64}.${Buffer.from(claimsJson, 'utf8').toString('base64url')}`;
  const sig =
    w.jwsAlg === 'HS256'
      ? createHmac('sha256', w.key).update(input, 'latin1').digest()
      : w.jwsAlg === 'ES256'
        ? edSign('sha256', Buffer.from(input, 'latin1'), { key: w.key, dsaEncoding: 'ieee-p1363' })
        : edSign(null, Buffer.from(input, 'latin1'), w.key);
  const jws = `${input}.${sig.toString('base64url')}`;
  if (w.mode !== 'nested') return jws;
  if (recipient === undefined)
    throw new InvalidArgumentError('a nested token needs the reader to encrypt to');
  // RFC 7518 4.6: a fresh ephemeral key per token, so two tokens to one reader share no key.
  const { epk, cek } = ecdhEsEncryptionKey(recipient.key, NESTED_ENC, 256);
  const header: Record<string, unknown> = { alg: 'ECDH-ES', enc: NESTED_ENC, cty: 'JWT', typ: OFFLINE_TYP };
  if (recipient.kid !== undefined) header.kid = recipient.kid;
  header.epk = epk;
  const headerB64 = Buffer.from(JSON.stringify(header), 'utf8').toString('base64url');
  return gcmCompact(
    'aes-256-gcm',
    cek,
    headerB64,
    Buffer.from(headerB64, 'latin1'),
    Buffer.from(jws, 'latin1'),
  );
}

/** The compact JWE of `dir`-style content encryption (RFC 7516 5.1): h..iv.ct.tag, the header segment as AAD. */
function gcmCompact(
  cipher: CipherGCMTypes,
  key: KeyObject | Buffer,
  headerB64: string,
  aad: Buffer,
  plaintext: Buffer,
): string {
  const iv = nextIv();
  const c = createCipheriv(cipher, key, iv, { authTagLength: 16 });
  c.setAAD(aad);
  const ct = c.update(plaintext);
  c.final();
  return `${headerB64}..${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** A single key (with the kid it answers to), or a resolver from the header (a keyring). */
export type ReadKey = { key: KeyObject; kid: string | undefined } | ((header: JwsHeader) => KeyObject);

interface HeaderInfo {
  header: Record<string, unknown>;
  /** The mode the header claims, undefined for an algorithm offline tokens never use at the top level. */
  mode: OfflineMode | undefined;
  /** The JWS alg of a signed/mac token or of the JWS inside a nested one. */
  jwsAlg: JwsAlgOfToken | undefined;
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
          : alg === 'ECDH-ES' && enc === NESTED_ENC
            ? 'nested'
            : undefined;
  const jwsAlg: JwsAlgOfToken | undefined =
    alg === 'EdDSA' || alg === 'ES256' || alg === 'HS256' ? alg : undefined;
  let problem: OfftokenError | undefined;
  if (typeof alg !== 'string')
    problem = malformed('the first segment is not a JOSE header (no alg): segments out of place');
  else if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256))
    problem = malformed('the kid header must be a short string');
  else if (mode === undefined && jwsAlg === undefined)
    problem = new OfflineTokenInvalidError(
      `alg ${String(alg).slice(0, 16)}${alg === 'dir' || alg === 'ECDH-ES' ? ` with enc ${String(enc).slice(0, 16)}` : ''} is not an offline-token algorithm`,
    );
  // RFC 7519 5.2: a nested JWT says so with cty JWT; the inner JWS is what the issuer signed.
  else if (mode === 'nested' && header.cty !== 'JWT')
    problem = new OfflineTokenInvalidError('a nested token has cty JWT (RFC 7519 5.2)');
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
    jwsAlg,
    kid: kid as string | undefined,
    enc: mode === 'sealed' ? (enc as SealedEnc) : undefined,
    aad: Buffer.from(segment, 'latin1'),
    problem,
  };
  // A nested header carries a fresh epk per token: caching it would only evict the issuers' fixed headers.
  if (mode === 'nested') return info;
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.delete(headerCache.keys().next().value as string);
  headerCache.set(segment, info);
  return info;
}

export interface Opened {
  header: Readonly<Record<string, unknown>>;
  kid: string | undefined;
  payload: Buffer;
}

function resolveKey(readKey: ReadKey, info: HeaderInfo, jwsAlg: JwsAlgOfToken | undefined): KeyObject {
  if (typeof readKey !== 'function') {
    if (info.kid !== undefined && readKey.kid !== undefined && info.kid !== readKey.kid)
      throw new OfflineTokenWrongKeyError(
        `the token was made with key ${info.kid.slice(0, 64)}, this reader holds ${readKey.kid.slice(0, 64)}`,
      );
    // RFC 8725 3.1: the token's alg must fit the key (a nested reader may hold an ES256 or an EdDSA key).
    if (jwsAlg !== undefined)
      try {
        checkKey(jwsAlg, ALGS[jwsAlg], readKey.key, 'verify');
      } catch (e) {
        throw new OfflineTokenWrongKeyError(`the token is ${jwsAlg}, this reader's key is not`, { cause: e });
      }
    return readKey.key;
  }
  let key: KeyObject;
  try {
    key = readKey(info.header as unknown as JwsHeader);
    if (jwsAlg !== undefined) checkKey(jwsAlg, ALGS[jwsAlg], key, 'verify');
  } catch (e) {
    throw new OfflineTokenWrongKeyError(
      `no key of this reader fits the token${info.kid !== undefined ? ` (kid ${info.kid.slice(0, 64)})` : ''}`,
      { cause: e },
    );
  }
  return key;
}

/** The three segments after the header of a compact JWE with an empty encrypted key, checked for shape. */
function jweSegments(token: string, d1: number, what: string): { iv: string; ct: string; tag: string } {
  // h . "" . iv . ct . tag  (RFC 7516 7.1; alg dir and ECDH-ES have an empty encrypted key)
  const d2 = token.indexOf('.', d1 + 1);
  const d3 = d2 < 0 ? -1 : token.indexOf('.', d2 + 1);
  const d4 = d3 < 0 ? -1 : token.indexOf('.', d3 + 1);
  if (d4 < 0) throw new OfflineTokenTruncatedError(`a ${what} token has five segments; this one ends early`);
  if (token.indexOf('.', d4 + 1) !== -1) throw malformed(`a ${what} token has exactly five segments`);
  if (d2 !== d1 + 1) throw malformed('a direct JWE has an empty encrypted-key segment');
  const iv = token.slice(d2 + 1, d3);
  const ct = token.slice(d3 + 1, d4);
  const tag = token.slice(d4 + 1);
  if (iv.length !== IV_CHARS || !isBase64url(iv))
    throw malformed('the IV segment is not a 96-bit base64url value: segments out of place');
  if (ct.length === 0 || !isBase64url(ct) || !canonicalTail(ct))
    throw malformed('the ciphertext segment is not canonical base64url');
  if (tag.length < TAG_CHARS) throw new OfflineTokenTruncatedError('the authentication tag is cut short');
  if (tag.length > TAG_CHARS || !isBase64url(tag) || !canonicalTail(tag))
    throw malformed(
      'the tag segment is not a canonical 128-bit base64url value: segments out of place or re-spelt',
    );
  return { iv, ct, tag };
}

/** AES-GCM open with a 128-bit tag; any failure is INVALID (`why` says what else it may mean). */
function gcmOpen(
  cipher: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm',
  key: KeyObject | Buffer,
  aad: Buffer,
  seg: { iv: string; ct: string; tag: string },
  why: string,
): Buffer {
  try {
    const d = createDecipheriv(cipher, key, Buffer.from(seg.iv, 'base64url'), { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(Buffer.from(seg.tag, 'base64url'));
    const out = d.update(Buffer.from(seg.ct, 'base64url'));
    d.final();
    return out;
  } catch {
    throw new OfflineTokenInvalidError(`the token does not decrypt: it was altered, or ${why}`);
  }
}

/** The header of a token, refused unless it claims `mode` and is acceptable. */
function headerFor(token: string, mode: OfflineMode): { info: HeaderInfo; d1: number } {
  const d1 = token.indexOf('.');
  const info = headerInfo(d1 < 0 ? token : token.slice(0, d1));
  if (info.mode !== mode) {
    if (info.mode !== undefined)
      throw new OfflineTokenWrongModeError(
        `this is a ${info.mode} token but the reader expects ${mode} tokens`,
      );
    throw (
      info.problem ??
      new OfflineTokenInvalidError(`alg ${String(info.header.alg)} is used only inside nested tokens`)
    );
  }
  if (info.problem) throw info.problem;
  if (d1 < 0) throw new OfflineTokenTruncatedError('the token ends after its header');
  return { info, d1 };
}

/** h . p . sig: checks the JWS of `info.jwsAlg` and returns its payload bytes. */
function openJws(token: string, d1: number, info: HeaderInfo, readKey: ReadKey): Buffer {
  const alg = info.jwsAlg!;
  const d2 = token.indexOf('.', d1 + 1);
  if (d2 < 0) throw new OfflineTokenTruncatedError('the token has no signature segment');
  if (token.indexOf('.', d2 + 1) !== -1) throw malformed('a signed or mac token has exactly three segments');
  if (d2 === d1 + 1) throw malformed('the payload segment is empty');
  const sigSeg = token.slice(d2 + 1);
  const want = SIG_CHARS[alg];
  if (sigSeg.length < want) throw new OfflineTokenTruncatedError('the signature is cut short');
  if (sigSeg.length > want || !isBase64url(sigSeg) || !canonicalTail(sigSeg))
    throw malformed(
      'the signature segment is not canonical base64url of the right size: segments out of place or re-spelt',
    );
  const key = resolveKey(readKey, info, alg);
  const sig = Buffer.from(sigSeg, 'base64url');
  const input = token.slice(0, d2);
  let ok: boolean;
  if (alg === 'HS256') {
    const mac = createHmac('sha256', key).update(input, 'latin1').digest();
    ok = timingSafeEqual(mac, sig);
  } else if (alg === 'ES256') {
    ok = edVerify('sha256', Buffer.from(input, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, sig);
  } else {
    ok = edVerify(null, Buffer.from(input, 'latin1'), key, sig);
  }
  if (!ok)
    throw new OfflineTokenInvalidError(
      'the signature does not verify: the token was altered, or signed with another key',
    );
  // The signature covers the payload segment as characters, not its decoded bytes, so no re-encoding of the
  // same claims verifies: unlike the sealed segments (whose tag covers bytes) it needs no strictness check.
  return Buffer.from(token.slice(d1 + 1, d2), 'base64url');
}

/**
 * Verifies (signed, mac) or decrypts (sealed) a token of `mode`. Every failure is a typed error: TRUNCATED,
 * MALFORMED, WRONG_MODE, WRONG_KEY, or INVALID when the envelope is sound but the signature or tag is not.
 */
export function open(token: string, mode: Exclude<OfflineMode, 'nested'>, readKey: ReadKey): Opened {
  const { info, d1 } = headerFor(token, mode);
  if (mode === 'sealed') {
    const seg = jweSegments(token, d1, 'sealed');
    const key = resolveKey(readKey, info, undefined);
    if (key.type !== 'secret' || key.symmetricKeySize !== ENC_BYTES[info.enc!])
      throw new OfflineTokenWrongKeyError(`the token is ${info.enc} but this reader's key is another size`);
    const payload = gcmOpen(CIPHER[info.enc!], key, info.aad, seg, 'sealed with another key');
    return { header: info.header, kid: info.kid, payload };
  }
  return { header: info.header, kid: info.kid, payload: openJws(token, d1, info, readKey) };
}

/**
 * Reads a nested token: decrypts it with the reader's own ECDH-ES key, then verifies the inner JWS with the
 * issuer's key (`issuer`, by the inner kid). A token sealed to another reader is WRONG_KEY (its kid, or its
 * epk's curve, names a key this reader does not hold); an epk that is not a public key of the reader's curve
 * is MALFORMED; a low-order X25519 point, a tag or an inner signature that fails is INVALID.
 */
export function openNested(token: string, reader: NestedReader, issuer: ReadKey): Opened {
  const { info, d1 } = headerFor(token, 'nested');
  const seg = jweSegments(token, d1, 'nested');
  if (info.kid !== undefined && reader.kid !== undefined && info.kid !== reader.kid)
    throw new OfflineTokenWrongKeyError(
      `the token was sealed to reader key ${info.kid.slice(0, 64)}, this reader holds ${reader.kid.slice(0, 64)}`,
    );
  let epk: KeyObject;
  let apu: Buffer;
  let apv: Buffer;
  try {
    epk = importEpk(info.header.epk, reader.curve);
    apu = partyInfo(info.header.apu, 'apu');
    apv = partyInfo(info.header.apv, 'apv');
  } catch (e) {
    if (e instanceof JoseKeyMismatchError)
      throw new OfflineTokenWrongKeyError(`the token was not sealed to this reader's key: ${e.message}`);
    throw malformed(`the token's ${(e as Error).message.replace(/^the /, '')}`);
  }
  let z: Buffer;
  try {
    z = sharedSecret(reader.key, epk);
  } catch (e) {
    throw new OfflineTokenInvalidError((e as Error).message);
  }
  const cek = concatKdf(z, 256, NESTED_ENC, apu, apv);
  const inner = gcmOpen('aes-256-gcm', cek, info.aad, seg, "sealed to another reader's key").toString(
    'latin1',
  );
  // The plaintext is the issuer's compact JWS: the same header and signature checks as a signed token.
  const e1 = inner.indexOf('.');
  const innerInfo = headerInfo(e1 < 0 ? inner : inner.slice(0, e1));
  if (innerInfo.jwsAlg !== 'EdDSA' && innerInfo.jwsAlg !== 'ES256')
    throw new OfflineTokenInvalidError('a nested token carries a JWS signed with EdDSA or ES256');
  if (innerInfo.problem) throw innerInfo.problem;
  if (e1 < 0) throw new OfflineTokenTruncatedError('the inner token ends after its header');
  const payload = openJws(inner, e1, innerInfo, issuer);
  return { header: innerInfo.header, kid: innerInfo.kid, payload };
}

/** The reader's key for nested tokens, checked once: an X25519 or P-256 private key. */
export function nestedReader(key: KeyObject | undefined, kid: string | undefined): NestedReader {
  const curve = key === undefined ? undefined : ecdhCurveOf(key);
  if (key === undefined || key.type !== 'private' || curve === undefined)
    throw new InvalidArgumentError('a nested reader needs its own ECDH-ES (X25519 or P-256) private key');
  return { key, curve, kid };
}
