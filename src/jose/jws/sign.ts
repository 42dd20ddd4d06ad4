import { createHmac, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { encodeBase64url } from '../../encoding/base64url.js';
import { algSpec, asymmetricParams, checkKey } from '../lib/alg.js';
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

function headerSegment(header: JwsSignHeader): string {
  const json = JSON.stringify(header);
  let seg = headerSegments.get(json);
  if (seg === undefined) {
    seg = encodeBase64url(json);
    if (headerSegments.size >= HEADER_CACHE_MAX)
      headerSegments.delete(headerSegments.keys().next().value as string);
    headerSegments.set(json, seg);
  }
  return seg;
}

/** Signs `payload` as a compact JWS (RFC 7515 7.1). The key must fit `alg` (no algorithm confusion). */
export function signJws(payload: Uint8Array | string, key: KeyObject, header: JwsSignHeader): string {
  const spec = algSpec(header.alg, undefined);
  checkKey(spec.alg, spec, key, 'sign');
  // The signing input is ASCII (two base64url segments), so latin1 is byte for byte.
  const input = `${headerSegment(header)}.${encodeBase64url(payload)}`;
  const sig =
    spec.kind === 'hmac'
      ? createHmac(spec.hash as string, key)
          .update(input, 'latin1')
          .digest()
      : cryptoSign(spec.hash, Buffer.from(input, 'latin1'), asymmetricParams(spec, key));
  return `${input}.${sig.toString('base64url')}`;
}
