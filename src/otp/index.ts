// The OTP capability: codes (HOTP, TOTP, OCRA), enrolment (secrets, base32, otpauth:// URIs, QR) and the
// stateful validator. The public API re-exports from here (src/index.ts).
export { type Base32EncodeOptions, base32Decode, base32Encode } from './base32.js';
export {
  type HotpMatch,
  type HotpOptions,
  hotp,
  type OtpAlgorithm,
  type OtpSecret,
  type VerifyHotpOptions,
  verifyHotp,
} from './hotp.js';
export {
  type OcraInput,
  type OcraMatch,
  type OcraSuite,
  ocra,
  parseOcraSuite,
  type VerifyOcraOptions,
  verifyOcra,
} from './ocra.js';
export { type QrFormat, renderQr, writeQrFile } from './qr.js';
export { generateOtpSecret } from './secret.js';
export {
  type TotpMatch,
  type TotpOptions,
  totp,
  totpStep,
  type VerifyTotpOptions,
  verifyTotp,
} from './totp.js';
export {
  buildOtpauthUri,
  type OtpauthKey,
  type OtpType,
  type ParsedOtpauthKey,
  parseOtpauthUri,
} from './uri.js';
export {
  type EnrollOptions,
  OtpValidator,
  type OtpValidatorOptions,
  type VerifyResult,
} from './validator.js';
