import type { Clock } from '../clock.js';
import { DpopRequestInvalidError } from '../errors/dpop.js';
import type { ReplayStore } from '../stores/types.js';
import type { DpopNonceManager } from './nonce.js';
import { verifyDpopProof } from './verify.js';

/**
 * For the authority's POST /token (RFC 9449 5): when the request carries a `DPoP` header, verify the proof
 * (htm POST, htu = token endpoint, nonce when a manager is given) and return the `jkt` to put in the issued
 * token's `cnf` (and `token_type: DPoP` in the response). Returns undefined for a request without DPoP.
 */
export async function dpopBindingForTokenRequest(
  request: { method: string; headers: Record<string, string | string[] | undefined> },
  o: { tokenEndpoint: string; store: ReplayStore; nonceManager?: DpopNonceManager; clock?: Clock },
): Promise<{ jkt: string } | undefined> {
  const h = request.headers.dpop;
  if (h === undefined) return undefined;
  if (typeof h !== 'string') throw new DpopRequestInvalidError('expected exactly one DPoP header');
  const r = await verifyDpopProof(h, {
    htm: request.method,
    htu: o.tokenEndpoint,
    replay: o.store,
    ...(o.nonceManager ? { nonce: o.nonceManager } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  return { jkt: r.jkt };
}
