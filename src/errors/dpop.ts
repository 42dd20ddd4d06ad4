import { OfftokenError } from './base.js';

// Sender-constrained and downscoped tokens: DPoP (RFC 9449), mTLS binding (RFC 8705),
// client-side downscoping, macaroon-style attenuation and context conditions.

/** A DPoP proof is malformed, not signed by its embedded public key, or uses a forbidden header (RFC 9449 4.3). */
export class DpopProofInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_PROOF_INVALID';
}
/** The proof's `alg` is `none`, symmetric (HS256...) or not an accepted asymmetric algorithm (RFC 9449 4.3 check 5). */
export class DpopAlgInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_ALG_INVALID';
}
/** The proof's `jwk` is missing, carries a private or symmetric key, or does not fit `alg` (RFC 9449 4.3 check 6). */
export class DpopJwkInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_JWK_INVALID';
}
/** The proof's `jti` was already seen within its validity window (RFC 9449 11.1). */
export class DpopReplayedError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_REPLAYED';
}
/** The proof's `htu` does not name the request URI after RFC 3986 normalisation. */
export class DpopHtuMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_HTU_MISMATCH';
}
/** The proof's `htm` is not the request method. */
export class DpopHtmMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_HTM_MISMATCH';
}
/** The proof's `iat` is missing or outside the accepted window. */
export class DpopIatInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_IAT_INVALID';
}
/** The proof's `ath` is missing or is not the hash of the presented access token. */
export class DpopAthMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_ATH_MISMATCH';
}
/** The proof's key thumbprint is not the token's `cnf.jkt` (the token is bound to another key). */
export class DpopKeyMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_KEY_MISMATCH';
}
/** The server requires a `DPoP-Nonce` and the proof has none, or a stale/forged one (RFC 9449 8). */
export class DpopNonceRequiredError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_NONCE_REQUIRED';
}
/** The request is not a DPoP request: missing/duplicate `DPoP` header or not `Authorization: DPoP`. */
export class DpopRequestInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DPOP_REQUEST_INVALID';
}

/** The token's `cnf.x5t#S256` is not the SHA-256 thumbprint of the TLS client certificate (RFC 8705 3). */
export class MtlsBindingMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_MTLS_BINDING_MISMATCH';
}
/** A certificate-bound token arrived without a TLS client certificate. */
export class MtlsCertificateMissingError extends OfftokenError {
  override readonly code: string = 'ERR_MTLS_CERTIFICATE_MISSING';
}

/** A downscoped token's boundary grants more than the intermediary token's grant. */
export class DownscopeWidensGrantError extends OfftokenError {
  override readonly code: string = 'ERR_DOWNSCOPE_WIDENS_GRANT';
}
/** A downscoped token or intermediary does not decrypt/verify or is malformed. */
export class DownscopeInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DOWNSCOPE_INVALID';
}
/** The downscoped token (or its intermediary) is expired, or would outlive the intermediary. */
export class DownscopeExpiredError extends OfftokenError {
  override readonly code: string = 'ERR_DOWNSCOPE_EXPIRED';
}
/** No rule of the boundary allows the requested resource and permission (or its CEL condition is false). */
export class DownscopeDeniedError extends OfftokenError {
  override readonly code: string = 'ERR_DOWNSCOPE_DENIED';
}

/**
 * The requested resource name is not in canonical form (a `.`/`..` segment, an empty segment, `%`, `\`, a
 * control character): refused rather than prefix-matched, since the storage behind may resolve it elsewhere.
 */
export class DownscopeResourceInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_DOWNSCOPE_RESOURCE_INVALID';
}

/** An attenuated token's HMAC chain does not verify: tampered, removed or reordered caveat, wrong root key. */
export class AttenuationInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_ATTENUATION_INVALID';
}
/** A caveat of a valid chain is not satisfied by the request context. `caveat` names it. */
export class CaveatFailedError extends OfftokenError {
  override readonly code: string = 'ERR_CAVEAT_FAILED';
  readonly caveat: string | undefined;
  constructor(message: string, options?: { cause?: unknown; caveat?: string }) {
    super(message, options);
    this.caveat = options?.caveat;
  }
}
/** A caveat the verifier does not understand: rejected, never ignored (ignoring would widen the token). */
export class CaveatUnknownError extends OfftokenError {
  override readonly code: string = 'ERR_CAVEAT_UNKNOWN';
  readonly caveat: string | undefined;
  constructor(message: string, options?: { cause?: unknown; caveat?: string }) {
    super(message, options);
    this.caveat = options?.caveat;
  }
}

/** A context condition (IP range, device posture, time window) does not hold. `condition` names it. */
export class ConditionFailedError extends OfftokenError {
  override readonly code: string = 'ERR_CONDITION_FAILED';
  readonly condition: string | undefined;
  constructor(message: string, options?: { cause?: unknown; condition?: string }) {
    super(message, options);
    this.condition = options?.condition;
  }
}
