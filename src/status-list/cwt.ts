import type { KeyObject } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { InputTooLargeError } from '../errors/base.js';
import { AuthoritySignatureError, StatusListInvalidError } from '../errors/server.js';
import { type CborValue, decodeCbor, encodeCbor } from './cbor.js';
import { type AuthorityAlg, algForKey, rawSign, rawVerify } from './jws.js';
import { StatusList } from './list.js';
import {
  checkStatusListClaims,
  toResolver,
  type VerifiedStatusList,
  type VerifyStatusListOptions,
} from './token.js';

/** draft-ietf-oauth-status-list 5.2: the CWT's protected `typ` (16). */
export const STATUS_LIST_CWT_TYP = 'application/statuslist+cwt';
/** RFC 9052 2: COSE_Sign1_Tagged. */
const COSE_SIGN1 = 18;
// RFC 9053 2.1 (ES256 -7, EdDSA -8) and RFC 9864 (Ed25519 -19): the algorithms the authority keys serve.
const COSE_ALG = new Map<number, AuthorityAlg>([
  [-7, 'ES256'],
  [-8, 'EdDSA'],
  [-19, 'EdDSA'],
]);
const H_ALG = 1;
const H_CRIT = 2;
const H_KID = 4;
const H_TYP = 16;
// RFC 8392 3.1 claim keys, and the draft's requested assignments for ttl and status_list.
const C_ISS = 1;
const C_SUB = 2;
const C_EXP = 4;
const C_IAT = 6;
const C_TTL = 65534;
const C_STATUS_LIST = 65533;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface StatusListCwtOptions {
  uri: string;
  issuer?: string;
  key: KeyObject;
  kid?: string;
  iat?: number;
  exp?: number;
  ttl?: number;
}

/** A Status List Token in CWT form (draft 5.2): COSE_Sign1_Tagged, alg and typ (and kid) protected. */
export function createStatusListCwt(list: StatusList, opts: StatusListCwtOptions): Buffer {
  const alg = algForKey(opts.key);
  const prot = new Map<number, CborValue>([
    [H_ALG, alg === 'ES256' ? -7 : -8],
    [H_TYP, STATUS_LIST_CWT_TYP],
  ]);
  if (opts.kid !== undefined) prot.set(H_KID, Buffer.from(opts.kid, 'utf8'));
  const claims = new Map<number, CborValue>([
    [C_SUB, opts.uri],
    [C_IAT, Math.floor(opts.iat ?? Date.now() / 1000)],
  ]);
  if (opts.issuer !== undefined) claims.set(C_ISS, opts.issuer);
  if (opts.exp !== undefined) claims.set(C_EXP, opts.exp);
  if (opts.ttl !== undefined) claims.set(C_TTL, opts.ttl);
  claims.set(
    C_STATUS_LIST,
    new Map<string, CborValue>([
      ['bits', list.bits],
      ['lst', deflateSync(list.bytes, { level: 9 })],
    ]),
  );
  const protBytes = encodeCbor(prot);
  const payload = encodeCbor(claims);
  const sig = rawSign(alg, sigStructure(protBytes, payload), opts.key);
  return encodeCbor({ tag: COSE_SIGN1, value: [protBytes, new Map(), payload, sig] });
}

/** RFC 9052 4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload]. */
function sigStructure(protBytes: Uint8Array, payload: Uint8Array): Buffer {
  return encodeCbor(['Signature1', protBytes, new Uint8Array(0), payload]);
}

/** As for the JWT form: `clockTolerance`, `allowStale` and `maxAge` apply the same staleness rule. */
export type VerifyStatusListCwtOptions = VerifyStatusListOptions;

const bad = (why: string) => new StatusListInvalidError(`the status list CWT ${why}`);

function asMap(v: CborValue | undefined, what: string): Map<number | string, CborValue> {
  if (!(v instanceof Map)) throw bad(`${what} is not a map`);
  return v;
}

function asBytes(v: CborValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(`${what} is not a byte string`);
  return v;
}

/**
 * Verifies a Status List Token in CWT form (draft 5.2 and 8.3): COSE_Sign1_Tagged only (no CWT tag, no Mac0),
 * protected alg bound to the key type and typ `application/statuslist+cwt`, no crit, no header parameter both
 * protected and unprotected, the signature over the Sig_structure, then sub (2), iat (6), exp (4), ttl (65534)
 * and the status list (65533) as the JWT form checks them.
 */
export function verifyStatusListCwt(bytes: Uint8Array, opts: VerifyStatusListCwtOptions): VerifiedStatusList {
  const max = opts.maxTokenSize ?? 8 * 1024 * 1024;
  if (bytes.length > max) throw new InputTooLargeError(`status list CWT exceeds ${max} bytes`);
  const top = decodeCbor(bytes);
  if (typeof top !== 'object' || top === null || !('tag' in top) || top.tag !== COSE_SIGN1)
    throw bad('is not a COSE_Sign1_Tagged message');
  const parts = top.value;
  if (!Array.isArray(parts) || parts.length !== 4) throw bad('is not a COSE_Sign1 array of four');
  const protBytes = asBytes(parts[0], 'protected header');
  const prot = protBytes.length === 0 ? new Map() : asMap(decodeCbor(protBytes), 'protected header');
  const unprot = asMap(parts[1], 'unprotected header');
  const payload = asBytes(parts[2], 'payload (detached payloads are not accepted)');
  const sig = asBytes(parts[3], 'signature');
  // RFC 9052 3: a parameter must not be in both buckets; alg and typ are only taken protected
  for (const k of unprot.keys()) if (prot.has(k)) throw bad('repeats a header parameter');
  if (unprot.has(H_ALG) || unprot.has(H_TYP)) throw bad('has alg or typ unprotected');
  if (prot.has(H_CRIT) || unprot.has(H_CRIT)) throw bad('has crit parameters, none are understood');
  const algId = prot.get(H_ALG);
  const alg = typeof algId === 'number' ? COSE_ALG.get(algId) : undefined;
  if (alg === undefined) throw new AuthoritySignatureError('the status list CWT alg is not ES256 or EdDSA');
  if (prot.get(H_TYP) !== STATUS_LIST_CWT_TYP) throw bad(`typ must be ${STATUS_LIST_CWT_TYP}`);
  const kidRaw = prot.get(H_KID) ?? unprot.get(H_KID);
  let kid: string | undefined;
  if (kidRaw !== undefined) {
    try {
      kid = utf8.decode(asBytes(kidRaw, 'kid'));
    } catch (e) {
      if (e instanceof StatusListInvalidError) throw e;
      throw bad('kid is not UTF-8 text');
    }
  }
  const key = toResolver(opts.key)({ alg, ...(kid !== undefined ? { kid } : {}) });
  let expected: AuthorityAlg;
  try {
    expected = algForKey(key);
  } catch {
    throw new AuthoritySignatureError('key type is not supported');
  }
  if (expected !== alg) throw new AuthoritySignatureError(`alg ${alg} does not match the key type`);
  if (
    !rawVerify(
      alg,
      sigStructure(protBytes, payload),
      key,
      Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength),
    )
  )
    throw new AuthoritySignatureError('signature verification failed');

  const claims = asMap(decodeCbor(payload), 'claims set');
  const checked = checkStatusListClaims(
    { sub: claims.get(C_SUB), iat: claims.get(C_IAT), exp: claims.get(C_EXP), ttl: claims.get(C_TTL) },
    opts,
    (m: string) => new StatusListInvalidError(`the status list CWT: ${m}`),
  );
  const sl = asMap(claims.get(C_STATUS_LIST), 'status list (65533)');
  const list = StatusList.fromCompressed(
    sl.get('bits'),
    asBytes(sl.get('lst'), 'lst'),
    opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {},
  );
  return { ...checked, list };
}
