import { OfftokenError } from './base.js';

/** A Token Status List (draft-ietf-oauth-status-list) is malformed, too large, or not signed by a trusted key. */
export class StatusListInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_INVALID';
}

/**
 * A status list without `exp` is older than its `ttl` (or, without a ttl, the relying party's maximum age):
 * revocations made since it was signed are not in it, so it cannot say a token is valid.
 */
export class StatusListStaleError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_STALE';
}

/** The referenced token's index is outside the list, or the token references a different list. */
export class StatusListMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_MISMATCH';
}

/** The status list says the token is revoked (status 0x01). */
export class TokenRevokedError extends OfftokenError {
  override readonly code: string = 'ERR_TOKEN_REVOKED';
}

/** The status list says the token is suspended (status 0x02). */
export class TokenSuspendedError extends OfftokenError {
  override readonly code: string = 'ERR_TOKEN_SUSPENDED';
}

/**
 * A token cannot be suspended because its status list has 1 bit per token, which has no suspended state
 * (draft-ietf-oauth-status-list 7.1: 0x02 needs 2 bits): the authority needs `statusList.bits: 2`.
 */
export class SuspensionUnsupportedError extends OfftokenError {
  override readonly code: string = 'ERR_SUSPENSION_UNSUPPORTED';
}

/** A JWS produced or consumed by the authority failed verification (bad signature, alg, kid, shape). */
export class AuthoritySignatureError extends OfftokenError {
  override readonly code: string = 'ERR_AUTHORITY_SIGNATURE_INVALID';
}

/** RFC 6749 5.2 invalid_request: a parameter is missing, repeated or malformed. */
export class OAuthInvalidRequestError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_INVALID_REQUEST';
}

/** RFC 6749 5.2 invalid_client: client authentication failed (unknown, disabled, bad assertion). */
export class OAuthInvalidClientError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_INVALID_CLIENT';
}

/** RFC 6749 5.2 invalid_grant: the assertion or subject token is invalid, expired, replayed or mis-addressed. */
export class OAuthInvalidGrantError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_INVALID_GRANT';
}

/** RFC 6749 5.2 unsupported_grant_type. */
export class OAuthUnsupportedGrantTypeError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_UNSUPPORTED_GRANT_TYPE';
}

/** RFC 6749 5.2 invalid_scope: the requested scope exceeds what the client may ask for. */
export class OAuthInvalidScopeError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_INVALID_SCOPE';
}

/** The server configuration file or an environment override is invalid. */
export class ServerConfigError extends OfftokenError {
  override readonly code: string = 'ERR_SERVER_CONFIG';
}

/** Another rotation held the authority keyring's lock file for longer than the wait (docs/service.md). */
export class KeyringLockedError extends OfftokenError {
  override readonly code: string = 'ERR_KEYRING_LOCKED';
}

/** A client registration operation failed (duplicate id, unknown id, bad JWKS). */
export class ClientRegistryError extends OfftokenError {
  override readonly code: string = 'ERR_CLIENT_REGISTRY';
}

/** RFC 8707 / RFC 8693 invalid_target: the requested audience or resource is not allowed. */
export class OAuthInvalidTargetError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_INVALID_TARGET';
}

/** RFC 6749 5.2 unauthorized_client, e.g. revoking a token issued to another client (RFC 7009 2.1). */
export class OAuthUnauthorizedClientError extends OfftokenError {
  override readonly code: string = 'ERR_OAUTH_UNAUTHORIZED_CLIENT';
}

/** A CEL mapping or condition failed to compile, evaluated to the wrong type, or raised an error. */
export class FederationMappingError extends OfftokenError {
  override readonly code: string = 'ERR_FEDERATION_MAPPING';
}

/** The federation CEL condition evaluated to false: the external identity is not allowed. */
export class FederationConditionFailedError extends OfftokenError {
  override readonly code: string = 'ERR_FEDERATION_CONDITION_FAILED';
}

/** An external subject token (OIDC JWT) failed the provider's trust checks. */
export class FederationTokenInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_FEDERATION_TOKEN_INVALID';
}
