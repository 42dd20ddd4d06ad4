import { OfftokenError } from './base.js';

/** `openStore` was given a URL it does not understand (see docs/stores.md for the formats). */
export class StoreUrlInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_STORE_URL_INVALID';
}

/** The backend could not be reached or opened within the connect timeout. */
export class StoreUnavailableError extends OfftokenError {
  override readonly code: string = 'ERR_STORE_UNAVAILABLE';
}

/** No store key: set OFFTOKEN_STORE_KEY (base64url, 32 bytes) or use a sqlite: store (key file beside it). */
export class StoreKeyMissingError extends OfftokenError {
  override readonly code: string = 'ERR_STORE_KEY_MISSING';
}

/** The store key is not 32 bytes of base64url, or its key file is readable by group/others. */
export class StoreKeyInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_STORE_KEY_INVALID';
}
