import { EncodingError, OfftokenError } from './base.js';

/** The code matched a time step or counter at or below the last accepted one (or a concurrent verifier won). */
export class OtpReplayedError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_REPLAYED';
}
/** The code matched nothing in the window. */
export class OtpInvalidError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_INVALID';
}
/** Too many failures: verification refused until the lockout ends. */
export class OtpLockedError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_LOCKED';
  readonly lockedUntil: number;
  constructor(message: string, lockedUntil: number) {
    super(message);
    this.lockedUntil = lockedUntil;
  }
}
/** Not a string of decimal digits of the credential's length (or oversized). */
export class OtpFormatError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_FORMAT';
}
/** No credential with that id in the store. */
export class OtpUnknownCredentialError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_UNKNOWN_CREDENTIAL';
}
/** A credential with that id already exists. */
export class OtpCredentialExistsError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_CREDENTIAL_EXISTS';
}
/** A sealed secret failed to decrypt (wrong store key, tampered row, or moved to another id). */
export class OtpSecretSealError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_SECRET_UNSEALABLE';
}
/** An OCRA suite string (RFC 6287 6) that does not parse or asks for something out of range. */
export class OcraSuiteError extends OfftokenError {
  override readonly code: string = 'ERR_OCRA_SUITE_INVALID';
}
/** OCRA data input that does not fit the suite: missing/extra counter, PIN, session or time; bad question. */
export class OcraInputError extends OfftokenError {
  override readonly code: string = 'ERR_OCRA_INPUT_INVALID';
}
/** Text that should be RFC 4648 base32 is not (bad character, bad padding, impossible length). */
export class Base32Error extends EncodingError {
  override readonly code: string = 'ERR_BASE32_INVALID';
}
/**
 * An issuer or account name that would show other than it reads: a bidirectional control character (U+202A-202E,
 * U+2066-2069, U+200E, U+200F, U+061C), only invisible characters (whitespace, zero-width, format), or a lone
 * surrogate. Refused by the Key URI builder and parser and by enrolment.
 */
export class OtpLabelError extends OfftokenError {
  override readonly code: string = 'ERR_OTP_LABEL_INVALID';
}
/** An otpauth:// Key URI that is malformed or out of range (scheme, type, label, secret, parameters). */
export class OtpauthUriError extends OfftokenError {
  override readonly code: string = 'ERR_OTPAUTH_URI_INVALID';
}
