import { createHmac, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { encodeBase64url } from '../../encoding/base64url.js';
import { type AlgSpec, algSpec, asymmetricParams, checkKey } from '../lib/alg.js';
import type { JwsAlg } from '../types.js';

export interface JwsSignHeader {
  alg: JwsAlg;
  kid?: string;
  typ?: string;
  cty?: string;
  [name: string]: unknown;
}

// A signer repeats the same header for every token: its encoded segment is kept per exact JSON text.
// Bounded so that callers varying the header cannot grow it; headers hold no secrets.
const headerSegments = new Map<string, string>();
const HEADER_CACHE_MAX = 64;

/** The base64url segment of a header given as its JSON text (cached). */
export function headerSegmentOf(json: string): string {
  let seg = headerSegments.get(json);
  if (seg === undefined) {
    seg = encodeSegment(json);
    if (headerSegments.size >= HEADER_CACHE_MAX)
      headerSegments.delete(headerSegments.keys().next().value as string);
    headerSegments.set(json, seg);
  }
  return seg;
}

// Text is encoded through one reused buffer (synchronous, never escapes): no Buffer per segment.
const SCRATCH_MAX = 64 * 1024;
let scratch = Buffer.allocUnsafeSlow(4096);

/** base64url of the UTF-8 bytes of `text`. */
export function encodeSegment(text: string): string {
  const worst = text.length * 3;
  if (worst > SCRATCH_MAX) return encodeBase64url(text);
  if (scratch.length < worst)
    scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(worst, scratch.length * 2)));
  const n = scratch.write(text, 0, 'utf8');
  return scratch.toString('base64url', 0, n);
}

/** Signs `headerSeg.payloadSeg` (RFC 7515 5.1) with a key already checked for `spec`; returns the JWS. */
export function signSegments(
  spec: Readonly<AlgSpec>,
  key: KeyObject,
  headerSeg: string,
  payloadSeg: string,
): string {
  // The signing input is ASCII (two base64url segments), so latin1 is byte for byte.
  const input = `${headerSeg}.${payloadSeg}`;
  const sig =
    spec.kind === 'hmac'
      ? createHmac(spec.hash as string, key)
          .update(input, 'latin1')
          .digest()
      : cryptoSign(spec.hash, Buffer.from(input, 'latin1'), asymmetricParams(spec, key));
  return `${input}.${sig.toString('base64url')}`;
}

/** Signs `payload` as a compact JWS (RFC 7515 7.1). The key must fit `alg` (no algorithm confusion). */
export function signJws(payload: Uint8Array | string, key: KeyObject, header: JwsSignHeader): string {
  const spec = algSpec(header.alg, undefined);
  checkKey(spec.alg, spec, key, 'sign');
  const payloadSeg = typeof payload === 'string' ? encodeSegment(payload) : encodeBase64url(payload);
  return signSegments(spec, key, headerSegmentOf(JSON.stringify(header)), payloadSeg);
}
