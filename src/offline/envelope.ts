import type { KeyObject } from 'node:crypto';
import { OfftokenError } from '../errors/base.js';
import { OfflineTokenInvalidError, OfflineTokenWrongModeError } from '../errors/offline.js';
import { decryptJwe, encryptJwe, signJws, verifyJws } from '../jose/index.js';
import type { JwsHeader } from '../jose/types.js';
import type { OfflineMode } from './types.js';

/**
 * The three envelopes, all standard (docs/formats/offline-token.md):
 *   sealed  JWE compact, {"alg":"dir","enc":"A256GCM","typ":"offtoken+jwt","kid"?}
 *   signed  JWS compact, {"alg":"EdDSA","typ":"offtoken+jwt","kid"?}
 *   mac     JWS compact, {"alg":"HS256","typ":"offtoken+jwt","kid"?}
 * The explicit `typ` (RFC 8725 3.11) stops a JWT minted for something else with the same key from being read
 * as an offline token, and the other way round.
 */
export const OFFLINE_TYP = 'offtoken+jwt';

export type SealedEnc = 'A128GCM' | 'A192GCM' | 'A256GCM';
export const SEALED_ENCS: readonly SealedEnc[] = ['A128GCM', 'A192GCM', 'A256GCM'];
export const JWS_ALG = { signed: 'EdDSA', mac: 'HS256' } as const;

export type ReadKey = KeyObject | ((header: JwsHeader) => KeyObject);

export interface SealParams {
  mode: OfflineMode;
  key: KeyObject;
  kid: string | undefined;
  enc: SealedEnc;
}

export function seal(claimsJson: string, p: SealParams): string {
  if (p.mode === 'sealed') {
    return encryptJwe(
      claimsJson,
      p.key,
      p.kid === undefined ? { enc: p.enc, typ: OFFLINE_TYP } : { enc: p.enc, kid: p.kid, typ: OFFLINE_TYP },
    );
  }
  const alg = JWS_ALG[p.mode];
  return signJws(
    claimsJson,
    p.key,
    p.kid === undefined ? { alg, typ: OFFLINE_TYP } : { alg, kid: p.kid, typ: OFFLINE_TYP },
  );
}

export interface Opened {
  header: Record<string, unknown>;
  payload: Buffer;
}

/** Which mode an envelope claims to be, from its header alone (used only to explain a failure). */
export function sniffMode(token: string): OfflineMode | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 2048) return undefined;
  try {
    const h = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const parts = token.split('.').length;
    if (parts === 5 && h.alg === 'dir' && SEALED_ENCS.includes(h.enc as SealedEnc)) return 'sealed';
    if (parts === 3 && h.alg === 'EdDSA') return 'signed';
    if (parts === 3 && h.alg === 'HS256') return 'mac';
  } catch {
    // not a JOSE header at all: reported as an invalid token by the caller
  }
  return undefined;
}

function fail(token: string, mode: OfflineMode, e: unknown): never {
  const other = sniffMode(token);
  if (other !== undefined && other !== mode)
    throw new OfflineTokenWrongModeError(`this is a ${other} token but the reader expects ${mode} tokens`);
  const code = e instanceof OfftokenError ? e.code : 'ERR_INTERNAL';
  throw new OfflineTokenInvalidError(
    `the token did not verify (${code}): tampered, truncated, or another key`,
    {
      cause: e,
    },
  );
}

/** Verifies or decrypts; every failure of the envelope becomes ERR_OFFLINE_TOKEN_INVALID or _WRONG_MODE. */
export function open(token: string, mode: OfflineMode, key: ReadKey, maxTokenSize: number): Opened {
  let header: Record<string, unknown>;
  let payload: Buffer;
  try {
    if (mode === 'sealed') {
      const r = decryptJwe(token, key as never, { maxTokenSize });
      header = r.header as unknown as Record<string, unknown>;
      payload = r.plaintext;
    } else {
      const r = verifyJws(token, key, { algorithms: [JWS_ALG[mode]], maxTokenSize });
      header = r.header as unknown as Record<string, unknown>;
      payload = r.payload;
    }
  } catch (e) {
    fail(token, mode, e);
  }
  if (header.typ !== OFFLINE_TYP)
    throw new OfflineTokenInvalidError(
      `the token's typ is not ${OFFLINE_TYP}: it was minted for something else`,
    );
  if (mode === 'sealed' && (header.alg !== 'dir' || !SEALED_ENCS.includes(header.enc as SealedEnc)))
    throw new OfflineTokenInvalidError('a sealed token must use alg dir with A128GCM, A192GCM or A256GCM');
  return { header, payload };
}
