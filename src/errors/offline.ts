import { OfftokenError } from './base.js';

/**
 * Offline tokens, action codes, the presets built on them, and the audit log.
 * One code per way a token can fail, so a gateway can tell "ask for a new token" (expired)
 * from "raise an alarm" (replayed, tampered) without parsing messages.
 */

/** The envelope is well formed but its signature or tag does not verify: tampered (or a key without a kid to tell). */
export class OfflineTokenInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_INVALID';
}

/** Not a compact envelope of the right shape: bad base64url or header, re-ordered or mis-sized segments. */
export class OfflineTokenMalformedError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_MALFORMED';
}

/** The envelope ends early: segments missing, or the final signature/tag segment cut short. */
export class OfflineTokenTruncatedError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_TRUNCATED';
}

/** The token names (by `kid`, or by its `enc` size) a key this reader does not hold. */
export class OfflineTokenWrongKeyError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_WRONG_KEY';
}

/** The token's `exp` (plus the tolerance) has passed. */
export class OfflineTokenExpiredError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_EXPIRED';
}

/** The token's `nbf` (minus the tolerance) is still in the future. */
export class OfflineTokenNotYetValidError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_NOT_YET_VALID';
}

/** The token's `jti` was already consumed from the replay store. */
export class OfflineTokenReplayedError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_REPLAYED';
}

/** The token's `ctr` is not greater than the last counter accepted for its device. */
export class OfflineCounterReplayedError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_COUNTER_REPLAYED';
}

/** The token's `aud` does not name this reader. */
export class OfflineTokenAudienceError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_AUDIENCE';
}

/** The token (on read) or its claims (on generate) exceed the configured size limit. */
export class OfflineTokenTooLargeError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_TOO_LARGE';
}

/** The token is a valid envelope of another mode (e.g. a mac token given to a signed reader). */
export class OfflineTokenWrongModeError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_WRONG_MODE';
}

/** The envelope verified but a claim is missing or malformed (e.g. no `exp`, a non-integer `ctr`). */
export class OfflineTokenClaimInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_CLAIM_INVALID';
}

/** The token verified but is not for this purpose (a preset's action or break-glass scope does not match). */
export class OfflineTokenScopeError extends OfftokenError {
  override readonly code: string = 'ERR_OFFLINE_TOKEN_SCOPE';
}

/** An action-bound code does not match the action, its parameters and the time window. */
export class ActionCodeInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_ACTION_CODE_INVALID';
}

/** An action-bound code was already used within its window. */
export class ActionCodeReplayedError extends OfftokenError {
  override readonly code: string = 'ERR_ACTION_CODE_REPLAYED';
}

/** Errors that point at one line of an audit log carry its 1-based line number. */
export interface AuditErrorOptions {
  line?: number;
  cause?: unknown;
}

/** An audit line's `prev` or `seq` does not follow from the line before: an edit, deletion or reordering. */
export class AuditChainBrokenError extends OfftokenError {
  override readonly code: string = 'ERR_AUDIT_CHAIN_BROKEN';
  readonly line: number | undefined;
  constructor(message: string, options: AuditErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.line = options.line;
  }
}

/** A checkpoint's signature does not verify, or it signs a head other than the chain's. */
export class AuditCheckpointInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_AUDIT_CHECKPOINT_INVALID';
  readonly line: number | undefined;
  constructor(message: string, options: AuditErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.line = options.line;
  }
}

/** An audit line is not a well-formed entry: bad JSON, oversized, or a truncated final line. */
export class AuditLineInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_AUDIT_LINE_INVALID';
  readonly line: number | undefined;
  constructor(message: string, options: AuditErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.line = options.line;
  }
}

/** The log is shorter than expected (`--expect-head`, `--min-entries`) or ends after its last checkpoint when a seal was required. */
export class AuditTruncatedError extends OfftokenError {
  override readonly code: string = 'ERR_AUDIT_TRUNCATED';
  readonly line: number | undefined;
  constructor(message: string, options: AuditErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.line = options.line;
  }
}

/** Another writer holds the audit log's lock file. */
export class AuditLockedError extends OfftokenError {
  override readonly code: string = 'ERR_AUDIT_LOCKED';
}
