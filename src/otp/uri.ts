import { InputTooLargeError, InvalidArgumentError } from '../errors/base.js';
import { OtpauthUriError, OtpLabelError } from '../errors/otp.js';
import { base32Decode, base32Encode } from './base32.js';
import type { OtpAlgorithm } from './hotp.js';

/*
 * The otpauth:// Key URI format authenticator apps scan from a QR code (Google Authenticator's "Key Uri Format"):
 *   otpauth://TYPE/LABEL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30   (hotp: &counter=N)
 * LABEL is `issuer:account` (or `account`), URL-encoded; neither part may contain a colon. The secret is base32
 * without padding. Apps ignore parameters they do not know, so parsing does too, but every known one is checked.
 */

export type OtpType = 'totp' | 'hotp';

export interface OtpauthKey {
  type: OtpType;
  /** The raw shared secret. */
  secret: Uint8Array;
  /** The account name shown in the app (user name or e-mail). */
  account: string;
  /** The provider or service, shown with the account; written both as label prefix and `issuer` parameter. */
  issuer?: string;
  /** Default SHA1. */
  algorithm?: OtpAlgorithm;
  /** Default 6. */
  digits?: number;
  /** TOTP step in seconds, default 30. */
  period?: number;
  /** HOTP initial counter, default 0. */
  counter?: number;
}

/** A parsed Key URI: every field filled in (defaults applied). */
export interface ParsedOtpauthKey extends Required<Omit<OtpauthKey, 'issuer' | 'period' | 'counter'>> {
  secret: Buffer;
  issuer?: string;
  /** TOTP only. */
  period?: number;
  /** HOTP only. */
  counter?: number;
}

/** Longest URI parsed (a 64-byte secret with long names is ~400 characters). */
export const MAX_OTPAUTH_URI = 4096;
const MAX_NAME = 256;
const MIN_SECRET = 10;
const MAX_SECRET = 1024;
const ALGORITHMS: readonly OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return true;
  }
  return false;
}

// Bidirectional controls reorder what an app shows ("\u202eEMCA" displays as "ACME"): Unicode TR9 explicit
// embeddings, overrides and isolates, and the implicit marks LRM, RLM and ALM.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
// A name made only of characters that show nothing (white space, zero-width and other format or default-ignorable
// characters, the Braille blank): an account that looks empty, or like another one with them added.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]*$/u;
// Half of a surrogate pair alone is no character at all (and cannot be percent-encoded as UTF-8).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkName(value: unknown, what: string, fail: (m: string) => never): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME)
    fail(`${what} must be 1-${MAX_NAME} characters`);
  if (hasControl(value)) fail(`${what} must not contain control characters`);
  // Key Uri Format: "Neither issuer nor account name may themselves contain a colon."
  if (value.includes(':')) fail(`${what} must not contain a colon`);
  // Spoofing (the same code from the builder, the parser and enrolment): a name must show what it is.
  if (LONE_SURROGATE.test(value)) throw new OtpLabelError(`${what} must not contain a lone surrogate`);
  if (BIDI_CONTROL.test(value))
    throw new OtpLabelError(`${what} must not contain bidirectional control characters`);
  if (INVISIBLE_ONLY.test(value)) throw new OtpLabelError(`${what} must contain a visible character`);
  return value;
}

function checkInt(
  value: unknown,
  what: string,
  min: number,
  max: number,
  fail: (m: string) => never,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    fail(`${what} must be an integer from ${min} to ${max}`);
  return value;
}

function argFail(m: string): never {
  throw new InvalidArgumentError(m);
}

/** Builds an otpauth:// Key URI that authenticator apps (and otpauth, otplib, speakeasy) read. */
export function buildOtpauthUri(key: OtpauthKey): string {
  const type = key.type ?? 'totp';
  if (type !== 'totp' && type !== 'hotp') argFail('type must be totp or hotp');
  if (!(key.secret instanceof Uint8Array) || key.secret.length < MIN_SECRET || key.secret.length > MAX_SECRET)
    argFail(`secret must be ${MIN_SECRET}-${MAX_SECRET} bytes`);
  const account = checkName(key.account, 'account', argFail);
  const issuer = key.issuer === undefined ? undefined : checkName(key.issuer, 'issuer', argFail);
  const algorithm = key.algorithm ?? 'SHA1';
  if (!ALGORITHMS.includes(algorithm)) argFail('algorithm must be SHA1, SHA256 or SHA512');
  const digits = checkInt(key.digits ?? 6, 'digits', 6, 10, argFail);
  // The label's colon is percent-encoded too: the format allows a literal or an encoded one, apps read both.
  const label = encodeURIComponent(issuer === undefined ? account : `${issuer}:${account}`);
  const q = new URLSearchParams({ secret: base32Encode(key.secret, { padding: false }) });
  if (issuer !== undefined) q.set('issuer', issuer);
  q.set('algorithm', algorithm);
  q.set('digits', String(digits));
  if (type === 'totp') q.set('period', String(checkInt(key.period ?? 30, 'period', 1, 86400, argFail)));
  else q.set('counter', String(checkInt(key.counter ?? 0, 'counter', 0, Number.MAX_SAFE_INTEGER, argFail)));
  // URLSearchParams writes a space as '+', which some apps show literally; %20 is read the same by all.
  const uri = `otpauth://${type}/${label}?${q.toString().replace(/\+/g, '%20')}`;
  // Never emit what parseOtpauthUri refuses: long names percent-encode to up to 9 characters each.
  if (uri.length > MAX_OTPAUTH_URI)
    throw new InputTooLargeError(
      `the otpauth URI would be ${uri.length} characters, more than ${MAX_OTPAUTH_URI}: shorten the issuer or account`,
    );
  return uri;
}

function uriFail(m: string): never {
  throw new OtpauthUriError(m);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return uriFail(`the ${what} is not valid percent-encoding`);
  }
}

const URI_RE = /^otpauth:\/\/([A-Za-z]+)\/([^?#]*)(?:\?([^#]*))?$/i;
const INT_RE = /^[0-9]{1,16}$/;

/**
 * Parses an otpauth:// Key URI strictly: scheme and type, label, base32 secret of 10-1024 bytes, and the
 * algorithm/digits/period/counter parameters (each at most once, in range). Throws ERR_OTPAUTH_URI_INVALID,
 * or ERR_INPUT_TOO_LARGE above MAX_OTPAUTH_URI characters.
 */
export function parseOtpauthUri(uri: string): ParsedOtpauthKey {
  if (typeof uri !== 'string') uriFail('the otpauth URI must be a string');
  if (uri.length > MAX_OTPAUTH_URI)
    throw new InputTooLargeError(`the otpauth URI is longer than ${MAX_OTPAUTH_URI} characters`);
  const m = URI_RE.exec(uri);
  if (!m) uriFail('not an otpauth://TYPE/LABEL?PARAMETERS URI (no fragment)');
  const type = (m[1] as string).toLowerCase() as OtpType;
  if (type !== 'totp' && type !== 'hotp') uriFail('the otpauth type must be totp or hotp');
  const label = decode(m[2] as string, 'label');
  const params = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(m[3] ?? '')) {
    const name = k.toLowerCase();
    if (params.has(name)) uriFail(`the parameter ${JSON.stringify(name)} appears more than once`);
    if (params.size >= 32) uriFail('the otpauth URI has too many parameters');
    params.set(name, v);
  }

  // Label: "issuer:account" or "account"; spaces may follow the colon.
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon) : undefined;
  const account = checkName(
    colon >= 0 ? label.slice(colon + 1).replace(/^ +/, '') : label,
    'account',
    uriFail,
  );
  if (labelIssuer !== undefined) checkName(labelIssuer, 'label issuer', uriFail);
  const paramIssuer = params.get('issuer');
  if (paramIssuer !== undefined) checkName(paramIssuer, 'issuer', uriFail);
  if (labelIssuer !== undefined && paramIssuer !== undefined && labelIssuer !== paramIssuer)
    uriFail('the issuer parameter differs from the label prefix');
  const issuer = paramIssuer ?? labelIssuer;

  const secretText = params.get('secret');
  if (secretText === undefined || secretText.length === 0) return uriFail('the secret parameter is missing');
  let secret: Buffer;
  try {
    secret = base32Decode(secretText);
  } catch (e) {
    return uriFail(`the secret parameter is not valid base32 (${(e as Error).message})`);
  }
  if (secret.length < MIN_SECRET || secret.length > MAX_SECRET)
    uriFail(`the secret must be ${MIN_SECRET}-${MAX_SECRET} bytes`);

  const algText = params.get('algorithm');
  const algorithm = (algText === undefined ? 'SHA1' : algText.toUpperCase()) as OtpAlgorithm;
  if (!ALGORITHMS.includes(algorithm)) uriFail('the algorithm must be SHA1, SHA256 or SHA512');
  const int = (name: string, min: number, max: number, fallback?: number): number => {
    const text = params.get(name);
    if (text === undefined) {
      if (fallback === undefined) uriFail(`the ${name} parameter is missing`);
      return fallback as number;
    }
    if (!INT_RE.test(text)) uriFail(`the ${name} parameter must be a decimal integer`);
    return checkInt(Number(text), name, min, max, uriFail);
  };
  const digits = int('digits', 6, 10, 6);
  const out: ParsedOtpauthKey = {
    type,
    secret,
    account,
    ...(issuer !== undefined ? { issuer } : {}),
    algorithm,
    digits,
  };
  // Key Uri Format: counter is REQUIRED for hotp; period is optional for totp (30).
  if (type === 'totp') out.period = int('period', 1, 86400, 30);
  else out.counter = int('counter', 0, Number.MAX_SAFE_INTEGER);
  return out;
}
