import type { Clock } from '../clock.js';
import { mtlsBindingFromRequest } from '../mtls/binding.js';
import type { ReplayStore } from '../stores/types.js';
import { dpopBindingForTokenRequest } from './authority.js';
import type { DpopNonceManager } from './nonce.js';

export interface SenderConstraint {
  /** Put into the issued access token's claims as `cnf` (absent for a plain bearer token). */
  cnf?: { jkt?: string; 'x5t#S256'?: string };
  /** The `token_type` of the token response: `DPoP` when the token is DPoP-bound (RFC 9449 5). */
  tokenType: 'DPoP' | 'Bearer';
}

/**
 * Everything the authority's POST /token needs for sender-constrained tokens, in one call: a `DPoP` header
 * is verified (htm POST, htu = the token endpoint, nonce when a manager is configured) and yields `cnf.jkt`;
 * a TLS client certificate on the connection yields `cnf.x5t#S256` (RFC 8705 3.1). Both may apply.
 * Throws the DPoP error codes (map them with SENDER_CONSTRAINED_OAUTH_ERRORS).
 */
export async function senderConstraintForTokenRequest(
  request: {
    method: string;
    headers: Record<string, string | string[] | undefined>;
    raw: { socket: unknown };
  },
  o: {
    tokenEndpoint: string;
    store: ReplayStore;
    nonceManager?: DpopNonceManager;
    clock?: Clock;
    mtls?: boolean;
  },
): Promise<SenderConstraint> {
  const dpop = await dpopBindingForTokenRequest(request, o);
  const x5t = o.mtls === false ? undefined : mtlsBindingFromRequest(request);
  const cnf = { ...(dpop ? { jkt: dpop.jkt } : {}), ...(x5t ?? {}) };
  return { ...(dpop || x5t ? { cnf } : {}), tokenType: dpop ? 'DPoP' : 'Bearer' };
}

/**
 * RFC 9449 5 / 7.1 and 8: how the authority answers each sender-constraint error code (OAuth `error`,
 * HTTP status). Spread into the server's one code -> protocol-error table.
 */
export const SENDER_CONSTRAINED_OAUTH_ERRORS: Record<string, [string, number]> = {
  ERR_DPOP_PROOF_INVALID: ['invalid_dpop_proof', 400],
  ERR_DPOP_ALG_INVALID: ['invalid_dpop_proof', 400],
  ERR_DPOP_JWK_INVALID: ['invalid_dpop_proof', 400],
  ERR_DPOP_REPLAYED: ['invalid_dpop_proof', 400],
  ERR_DPOP_HTU_MISMATCH: ['invalid_dpop_proof', 400],
  ERR_DPOP_HTM_MISMATCH: ['invalid_dpop_proof', 400],
  ERR_DPOP_IAT_INVALID: ['invalid_dpop_proof', 400],
  ERR_DPOP_ATH_MISMATCH: ['invalid_dpop_proof', 400],
  ERR_DPOP_KEY_MISMATCH: ['invalid_dpop_proof', 400],
  ERR_DPOP_REQUEST_INVALID: ['invalid_dpop_proof', 400],
  ERR_DPOP_NONCE_REQUIRED: ['use_dpop_nonce', 400],
  ERR_MTLS_BINDING_MISMATCH: ['invalid_grant', 400],
  ERR_MTLS_CERTIFICATE_MISSING: ['invalid_client', 401],
  ERR_DOWNSCOPE_WIDENS_GRANT: ['invalid_scope', 400],
  ERR_DOWNSCOPE_INVALID: ['invalid_grant', 400],
  ERR_DOWNSCOPE_EXPIRED: ['invalid_grant', 400],
  ERR_DOWNSCOPE_DENIED: ['invalid_scope', 400],
};
