// The OTP capability: codes (HOTP, TOTP, OCRA), enrolment (secrets, base32, otpauth:// URIs, QR) and the
// stateful validator. The public API re-exports from here (src/index.ts).
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
