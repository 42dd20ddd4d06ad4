import { InputTooLargeError, InvalidArgumentError } from '../errors/base.js';
import { Base32Error } from '../errors/otp.js';

/*
 * RFC 4648 6 base32 (the alphabet authenticator apps use for secrets). Encoding is canonical; decoding accepts
 * what people type or paste from an enrolment page (lower case, spaces and hyphens between groups, no padding)
 * and refuses everything else with ERR_BASE32_INVALID.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Largest text decoded: 4096 characters (2560 bytes), well above any OTP secret. */
export const MAX_BASE32_INPUT = 4096;
const MAX_ENCODE = 1024 * 1024;

const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) {
  VALUE[ALPHABET.charCodeAt(i)] = i;
  VALUE[ALPHABET.toLowerCase().charCodeAt(i)] = i;
}
const SEPARATOR = -2;
VALUE[0x20] = SEPARATOR; // space
VALUE[0x2d] = SEPARATOR; // hyphen

// RFC 4648 6: a final quantum of 8, 16, 24 or 32 bits leaves 6, 4, 3 or 1 padding characters.
const PAD_FOR_REMAINDER: Record<number, number> = { 0: 0, 2: 6, 4: 4, 5: 3, 7: 1 };

export interface Base32EncodeOptions {
  /** Pad to a multiple of 8 characters with `=` (RFC 4648 3.2). Default true; otpauth URIs use false. */
  padding?: boolean;
}

export function base32Encode(data: Uint8Array, options: Base32EncodeOptions = {}): string {
  if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('base32Encode takes bytes');
  if (data.length > MAX_ENCODE)
    throw new InputTooLargeError(`base32Encode takes at most ${MAX_ENCODE} bytes`);
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < data.length; i++) {
    value = ((value << 8) | (data[i] as number)) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  if (options.padding !== false) out += '='.repeat(PAD_FOR_REMAINDER[out.length % 8] ?? 0);
  return out;
}

/**
 * Decodes base32: upper or lower case, optional spaces/hyphens between characters, padding optional but
 * correct when present. Throws ERR_BASE32_INVALID (bad character, padding or length) or ERR_INPUT_TOO_LARGE.
 */
export function base32Decode(text: string): Buffer {
  if (typeof text !== 'string') throw new Base32Error('base32 input must be a string');
  if (text.length > MAX_BASE32_INPUT)
    throw new InputTooLargeError(`base32 input is longer than ${MAX_BASE32_INPUT} characters`);
  const out = Buffer.allocUnsafe(Math.floor((text.length * 5) / 8));
  let n = 0;
  let chars = 0;
  let pad = 0;
  let bits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d) {
      pad++;
      continue;
    }
    const v = c < 128 ? (VALUE[c] as number) : -1;
    if (v === SEPARATOR) continue;
    if (v < 0) throw new Base32Error(`base32 input has a character outside A-Z and 2-7 at position ${i + 1}`);
    if (pad > 0) throw new Base32Error('base32 padding may only end the input');
    chars++;
    value = ((value << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      out[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  const rem = chars % 8;
  const expectedPad = PAD_FOR_REMAINDER[rem];
  if (expectedPad === undefined) throw new Base32Error('base32 input has an impossible length (truncated?)');
  if (pad > 0 && pad !== expectedPad) throw new Base32Error('base32 padding does not match the input length');
  // Leftover bits below a whole byte are dropped without checking they are zero (RFC 4648 3.5 leaves that to
  // the decoder): secrets typed as random base32 strings of any valid length still decode as apps decode them.
  return out.subarray(0, n);
}
