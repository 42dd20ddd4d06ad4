import { OfftokenError } from './base.js';

// The status-list client's codes. The list's own format errors (ERR_STATUS_LIST_INVALID/MISMATCH) and the
// token outcomes (ERR_TOKEN_REVOKED/SUSPENDED) predate the client and live in server.ts.

/** A token's `status_list.uri` is not under any prefix the client was configured to fetch from. */
export class StatusListUriNotAllowedError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_URI_NOT_ALLOWED';
}
/** A status list could not be fetched: connection refused or reset, timeout, a non-200 status, a redirect. */
export class StatusListFetchFailedError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_FETCH_FAILED';
}
/** No fresh, verified status list is at hand for the token and none could be fetched: its status is unknown. */
export class StatusListUnavailableError extends OfftokenError {
  override readonly code: string = 'ERR_STATUS_LIST_UNAVAILABLE';
}
