import { OfftokenError } from './base.js';

/** Key material is malformed or unusable. */
export class KeyInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_KEY_INVALID';
}
/** RSA modulus < 2048 bits or HMAC/AES secret below its minimum size. */
export class KeyTooWeakError extends OfftokenError {
  override readonly code: string = 'ERR_KEY_TOO_WEAK';
}
/** A JWK's kty/crv contradicts its alg (prevents algorithm confusion). */
export class KeyAlgMismatchError extends OfftokenError {
  override readonly code: string = 'ERR_KEY_ALG_MISMATCH';
}
export class KeyfileInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_KEYFILE_INVALID';
}
export class KeyfileDecryptFailedError extends OfftokenError {
  override readonly code: string = 'ERR_KEYFILE_DECRYPT_FAILED';
}
export class KeyfilePermissionsError extends OfftokenError {
  override readonly code: string = 'ERR_KEYFILE_PERMISSIONS';
}
export class KeyringNoActiveKeyError extends OfftokenError {
  override readonly code: string = 'ERR_KEYRING_NO_ACTIVE_KEY';
}
export class JwksNoMatchingKeyError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_NO_MATCHING_KEY';
}
export class JwksMultipleMatchingKeysError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_MULTIPLE_MATCHING_KEYS';
}
export class JwksInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_INVALID';
}
export class JwksTimeoutError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_TIMEOUT';
}
/** A remote JWKS could not be fetched: connection refused/reset, DNS failure, or a non-200 status. */
export class JwksFetchFailedError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_FETCH_FAILED';
}
/** A RemoteJwks snapshot given to the constructor is malformed, of another URL, or dated in the future. */
export class JwksSnapshotInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_JWKS_SNAPSHOT_INVALID';
}
/** A service-account key file is malformed: wrong type, missing members, or a private_key that is not PKCS#8 PEM. */
export class ServiceAccountInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_SERVICE_ACCOUNT_INVALID';
}
