import { OfftokenError } from './base.js';

/** The token's `alg` is `none`, or not in the verifier's allow-list. */
export class JoseAlgNotAllowedError extends OfftokenError {
  override readonly code: string = 'ERR_JOSE_ALG_NOT_ALLOWED';
}

/** A JOSE feature offtoken deliberately does not implement (e.g. `zip`, unknown `enc`). */
export class JoseNotSupportedError extends OfftokenError {
  override readonly code: string = 'ERR_JOSE_NOT_SUPPORTED';
}

/** The key does not fit the algorithm (type, curve or size): the guard against algorithm confusion. */
export class JoseKeyMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_JOSE_KEY_MISMATCH';
}

/** The protected header is not acceptable: not a JSON object, duplicate names, too deep, `b64: false`. */
export class JoseHeaderInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JOSE_HEADER_INVALID';
}

/** `crit` names an extension this verifier was not told it understands (RFC 7515 4.1.11). */
export class JoseCritUnsupportedError extends OfftokenError {
  override readonly code: string = 'ERR_JOSE_CRIT_UNSUPPORTED';
}

/** Not a well-formed compact JWS. */
export class JwsInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWS_INVALID';
}

/** The signature or MAC does not verify with the selected key. */
export class JwsSignatureInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWS_SIGNATURE_INVALID';
}

/** The JWS verified but its payload is not a JWT claims set (a JSON object within limits). */
export class JwtInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWT_INVALID';
}

/** RFC 7519 4.1.4: now >= exp + tolerance (or older than the policy's maxTokenAge). `claim` says which. */
export class JwtExpiredError extends OfftokenError {
  override readonly code: string = 'ERR_JWT_EXPIRED';
  readonly claim: string;
  readonly reason: string;
  constructor(message: string, claim = 'exp', reason = 'expired', options?: { cause?: unknown }) {
    super(message, options);
    this.claim = claim;
    this.reason = reason;
  }
}

/** A claim failed the policy: `claim` names it, `reason` is one of missing, invalid, mismatch, not_yet_valid, in_future. */
export class JwtClaimInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWT_CLAIM_INVALID';
  readonly claim: string;
  readonly reason: string;
  constructor(message: string, claim = 'unknown', reason = 'invalid', options?: { cause?: unknown }) {
    super(message, options);
    this.claim = claim;
    this.reason = reason;
  }
}

/** Not a well-formed compact JWE, or a header offtoken refuses. */
export class JweInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWE_INVALID';
}

/** Authenticated decryption failed: tampered, truncated or another key. */
export class JweDecryptionFailedError extends OfftokenError {
  override readonly code: string = 'ERR_JWE_DECRYPTION_FAILED';
}
