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

/** Signs `payload` as a compact JWS (RFC 7515 7.1). The key must fit `alg` (no algorithm confusion). */
export function signJws(payload: Uint8Array | string, key: KeyObject, header: JwsSignHeader): string {
  const spec = algSpec(header.alg, undefined);
  checkKey(spec.alg, spec, key, 'sign');
  const input = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(payload)}`;
  const data = Buffer.from(input, 'latin1');
  const sig =
    spec.kind === 'hmac'
      ? createHmac(spec.hash!, key).update(data).digest()
      : cryptoSign(spec.hash, data, asymmetricParams(spec, key));
  return `${input}.${sig.toString('base64url')}`;
}
