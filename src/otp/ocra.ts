import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InputTooLargeError, InvalidArgumentError } from '../errors/base.js';
import { OcraInputError, OcraSuiteError, OtpFormatError } from '../errors/otp.js';
import {
  checkSecret,
  checkWindow,
  HASH,
  MAX_CODE_INPUT,
  type OtpAlgorithm,
  type OtpSecret,
  truncate,
  writeCounter,
} from './hotp.js';

/**
 * OCRA, the OATH challenge-response algorithm (RFC 6287): HOTP's dynamic truncation over
 *   HMAC(K, OCRASuite | 0x00 | C | Q | P | S | T)
 * where the suite string says which of the data inputs are present and how each is formatted.
 */

/** A parsed OCRA suite (RFC 6287 6). */
export interface OcraSuite {
  /** The suite string exactly as it enters the HMAC. */
  readonly suite: string;
  readonly algorithm: OtpAlgorithm;
  /** Response length: 4-10 decimal digits, or 0 for the untruncated HMAC (returned as lower-case hex). */
  readonly digits: number;
  /** C: an 8-byte counter is part of the input. */
  readonly counter: boolean;
  /** Q: question format (A alphanumeric, N numeric, H hex) and the maximum length of one challenge. */
  readonly question: { readonly format: 'A' | 'N' | 'H'; readonly length: number };
  /** P: the PIN/password is hashed with this algorithm and the hash is part of the input. */
  readonly pin?: OtpAlgorithm;
  /** S: length in bytes of the session information. */
  readonly session?: number;
  /** T: time step in seconds. */
  readonly timeStep?: number;
}

/** The data inputs of one OCRA computation. Which ones are required depends on the suite. */
export interface OcraInput {
  /** C (suites with C): the counter, up to 2^64-1. */
  counter?: number | bigint;
  /** Q: the challenge, in the suite's format (for mutual authentication, the two challenges concatenated). */
  question: string;
  /** P (suites with PSHAx): the PIN, hashed here with the suite's hash (UTF-8). */
  pin?: string;
  /** P: or the PIN hash itself, hex or bytes, of the suite's hash length. */
  pinHash?: string | Uint8Array;
  /** S (suites with Snnn): session information, hex or bytes, at most nnn bytes (left-padded with zeros). */
  session?: string | Uint8Array;
  /** T (suites with T): time steps since the epoch. Default: from `now`, else from the clock. */
  timestamp?: number | bigint;
  /** T: unix seconds the timestamp is computed from (floor(now / step)). */
  now?: number;
}

export interface VerifyOcraOptions {
  /** C suites: counters tried after `input.counter` (look-ahead), 0-1000. Default 0. */
  counterWindow?: number;
  /** T suites: time steps accepted either side of the timestamp, 0-100. Default 0. */
  timestampWindow?: number;
  clock?: Clock;
}

/** The counter and timestamp a response matched (those the suite has). */
export interface OcraMatch {
  counter?: bigint;
  timestamp?: bigint;
}

const MAX_SUITE = 128;
const MAX_PIN = 1024;
const MAX_SESSION = 512;
const Q_BYTES = 128;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
const HASH_LEN: Record<OtpAlgorithm, number> = { SHA1: 20, SHA256: 32, SHA512: 64 };
const UNIT = { S: 1, M: 60, H: 3600 } as const;
// RFC 6287 6: T[1-59]S, T[1-59]M, T[0-48]H (a zero step is meaningless, so hours start at 1).
const UNIT_MAX = { S: 59, M: 59, H: 48 } as const;

const CRYPTO_RE = /^HOTP-SHA(1|256|512)-(\d{1,2})$/;
const Q_RE = /^Q([ANH])(\d{2})$/;
const P_RE = /^PSHA(1|256|512)$/;
const S_RE = /^S(\d{3})$/;
const T_RE = /^T(\d{1,2})([SMH])$/;

function bad(suite: string, why: string): never {
  throw new OcraSuiteError(`invalid OCRA suite ${JSON.stringify(suite)}: ${why}`);
}

const parsed = new Map<string, OcraSuite>();

/** Parses an OCRA suite string (RFC 6287 6): `OCRA-1:HOTP-SHAx-t:[C-]QFxx[-PH][-Snnn][-TG]`. */
export function parseOcraSuite(suite: string): OcraSuite {
  if (typeof suite !== 'string') throw new OcraSuiteError('the OCRA suite must be a string');
  const hit = parsed.get(suite);
  if (hit) return hit;
  if (suite.length > MAX_SUITE)
    throw new InputTooLargeError(`the OCRA suite is longer than ${MAX_SUITE} characters`);
  const parts = suite.split(':');
  if (parts.length !== 3) bad(suite, 'expected Algorithm:CryptoFunction:DataInput');
  const [version, fn, data] = parts as [string, string, string];
  if (version !== 'OCRA-1') bad(suite, 'only version OCRA-1 is defined');
  const cf = CRYPTO_RE.exec(fn);
  if (!cf) bad(suite, 'the crypto function must be HOTP-SHA1-t, HOTP-SHA256-t or HOTP-SHA512-t');
  const algorithm = `SHA${cf[1]}` as OtpAlgorithm;
  const digits = Number(cf[2]);
  if (cf[2] !== String(digits) || !(digits === 0 || (digits >= 4 && digits <= 10)))
    bad(suite, 'the truncation length must be 0 or 4-10');

  // RFC 6287 6.3: DataInput = [C] | QFxx | [PH | Snnn | TG], in that order, each at most once.
  const fields = data.split('-');
  let i = 0;
  const counter = fields[0] === 'C';
  if (counter) i++;
  const q = Q_RE.exec(fields[i] ?? '');
  if (!q) bad(suite, 'the data input needs a question QA.., QN.. or QH.. (after an optional C)');
  const qlen = Number(q[2]);
  if (qlen < 4 || qlen > 64) bad(suite, 'the question length must be 04-64');
  i++;
  let pin: OtpAlgorithm | undefined;
  let session: number | undefined;
  let timeStep: number | undefined;
  const p = P_RE.exec(fields[i] ?? '');
  if (p) {
    pin = `SHA${p[1]}` as OtpAlgorithm;
    i++;
  }
  const s = S_RE.exec(fields[i] ?? '');
  if (s) {
    session = Number(s[1]);
    if (session < 1 || session > MAX_SESSION) bad(suite, `the session length must be 001-${MAX_SESSION}`);
    i++;
  }
  const t = T_RE.exec(fields[i] ?? '');
  if (t) {
    const n = Number(t[1]);
    const unit = t[2] as keyof typeof UNIT;
    if (t[1] !== String(n) || n < 1 || n > UNIT_MAX[unit])
      bad(suite, `the time step must be 1-${UNIT_MAX[unit]}${unit}`);
    timeStep = n * UNIT[unit];
    i++;
  }
  if (i !== fields.length) bad(suite, `unexpected data input ${JSON.stringify(fields[i])}`);
  const out: OcraSuite = Object.freeze({
    suite,
    algorithm,
    digits,
    counter,
    question: Object.freeze({ format: q[1] as 'A' | 'N' | 'H', length: qlen }),
    ...(pin !== undefined ? { pin } : {}),
    ...(session !== undefined ? { session } : {}),
    ...(timeStep !== undefined ? { timeStep } : {}),
  });
  // A handful of suites are used by any one deployment; the bound only stops a caller feeding endless variants.
  if (parsed.size >= 256) parsed.clear();
  parsed.set(suite, out);
  return out;
}

function hexBytes(value: string | Uint8Array, what: string, max: number): Buffer {
  if (value instanceof Uint8Array) {
    if (value.length > max) throw new OcraInputError(`${what} is longer than ${max} bytes`);
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (typeof value !== 'string') throw new OcraInputError(`${what} must be hex or bytes`);
  if (value.length > max * 2) throw new OcraInputError(`${what} is longer than ${max} bytes`);
  if (value.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(value))
    throw new OcraInputError(`${what} must be hex`);
  return Buffer.from(value, 'hex');
}

/** Q (RFC 6287 5.1): the challenge as at most 128 bytes, left-aligned and zero-padded on the right. */
function writeQuestion(out: Buffer, offset: number, s: OcraSuite, question: unknown): void {
  if (typeof question !== 'string') throw new OcraInputError('the question must be a string');
  // RFC 6287 7.3: in mutual mode the question is the client and server challenges concatenated, so one
  // question may be up to twice the suite's challenge length.
  const max = s.question.length * 2;
  if (question.length === 0 || question.length > max)
    throw new OcraInputError(`the question must be 1-${max} characters for ${s.suite}`);
  let hex: string;
  switch (s.question.format) {
    case 'N':
      if (!/^[0-9]+$/.test(question)) throw new OcraInputError('this suite takes a numeric question (QN)');
      // The decimal number's value in hex, left-aligned (the RFC's reference code pads on the right).
      hex = BigInt(question).toString(16);
      break;
    case 'H':
      if (!/^[0-9A-Fa-f]+$/.test(question)) throw new OcraInputError('this suite takes a hex question (QH)');
      hex = question;
      break;
    default:
      if (!/^[0-9A-Za-z]+$/.test(question))
        throw new OcraInputError('this suite takes an alphanumeric question (QA: A-Z, a-z, 0-9)');
      out.write(question, offset, 'latin1');
      return;
  }
  if (hex.length % 2 === 1) hex += '0';
  if (hex.length > Q_BYTES * 2) throw new OcraInputError('the question does not fit the 128-byte Q field');
  out.write(hex, offset, 'hex');
}

function pinHashOf(s: OcraSuite, input: OcraInput): Buffer {
  const alg = s.pin as OtpAlgorithm;
  if (input.pin !== undefined && input.pinHash !== undefined)
    throw new OcraInputError('give the PIN or its hash, not both');
  if (input.pin !== undefined) {
    if (typeof input.pin !== 'string' || input.pin.length === 0)
      throw new OcraInputError('the PIN must be a string');
    if (input.pin.length > MAX_PIN)
      throw new InputTooLargeError(`the PIN is longer than ${MAX_PIN} characters`);
    return createHash(HASH[alg]).update(input.pin, 'utf8').digest();
  }
  if (input.pinHash === undefined) throw new OcraInputError(`${s.suite} needs a PIN (or its ${alg} hash)`);
  const h = hexBytes(input.pinHash, 'the PIN hash', HASH_LEN[alg]);
  if (h.length !== HASH_LEN[alg])
    throw new OcraInputError(`the PIN hash must be ${HASH_LEN[alg]} bytes (${alg})`);
  return h;
}

function timestampOf(s: OcraSuite, input: OcraInput, clock: Clock): number | bigint {
  if (input.timestamp !== undefined) return input.timestamp;
  const now = input.now ?? clock();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0)
    throw new OcraInputError('now must be unix seconds');
  return Math.floor(now / (s.timeStep as number));
}

/** The DataInput buffer with C and T left as zeros (they are written per candidate). */
interface Prepared {
  s: OcraSuite;
  msg: Buffer;
  cOffset: number;
  tOffset: number;
  hash: string;
}

function prepare(suite: string | OcraSuite, input: OcraInput): Prepared {
  const s = typeof suite === 'string' ? parseOcraSuite(suite) : parseOcraSuite(suite?.suite);
  if (typeof input !== 'object' || input === null)
    throw new OcraInputError('the OCRA input must be an object');
  if (s.counter !== (input.counter !== undefined))
    throw new OcraInputError(s.counter ? `${s.suite} needs a counter` : `${s.suite} takes no counter`);
  if (s.pin === undefined && (input.pin !== undefined || input.pinHash !== undefined))
    throw new OcraInputError(`${s.suite} takes no PIN`);
  if (s.session === undefined && input.session !== undefined)
    throw new OcraInputError(`${s.suite} takes no session information`);
  if (s.timeStep === undefined && (input.timestamp !== undefined || input.now !== undefined))
    throw new OcraInputError(`${s.suite} takes no timestamp`);
  const suiteLen = Buffer.byteLength(s.suite, 'latin1');
  const pLen = s.pin ? HASH_LEN[s.pin] : 0;
  const sLen = s.session ?? 0;
  const cOffset = suiteLen + 1;
  const qOffset = cOffset + (s.counter ? 8 : 0);
  const pOffset = qOffset + Q_BYTES;
  const sOffset = pOffset + pLen;
  const tOffset = sOffset + sLen;
  const msg = Buffer.alloc(tOffset + (s.timeStep ? 8 : 0));
  msg.write(s.suite, 0, 'latin1');
  writeQuestion(msg, qOffset, s, input.question);
  if (s.pin) pinHashOf(s, input).copy(msg, pOffset);
  if (s.session !== undefined) {
    if (input.session === undefined) throw new OcraInputError(`${s.suite} needs session information`);
    const si = hexBytes(input.session, 'the session information', s.session);
    si.copy(msg, sOffset + s.session - si.length);
  }
  return { s, msg, cOffset, tOffset, hash: HASH[s.algorithm] };
}

function respond(p: Prepared, key: OtpSecret): string {
  const mac = createHmac(p.hash, key).update(p.msg).digest();
  if (p.s.digits === 0) return mac.toString('hex');
  return (truncate(mac) % (POW10[p.s.digits] as number)).toString().padStart(p.s.digits, '0');
}

function toBig(v: number | bigint, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v) || v < 0) throw new OcraInputError(`${what} must be a non-negative integer`);
  return BigInt(v);
}

/** Computes the OCRA response (RFC 6287 5.1) for `suite`, `key` and the data inputs. */
export function ocra(suite: string | OcraSuite, key: OtpSecret, input: OcraInput): string {
  checkSecret(key);
  const p = prepare(suite, input);
  try {
    if (p.s.counter) writeCounter(p.msg, p.cOffset, input.counter as number | bigint);
    if (p.s.timeStep) writeCounter(p.msg, p.tOffset, timestampOf(p.s, input, systemClock), 'timestamp');
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new OcraInputError(e.message);
    throw e;
  }
  return respond(p, key);
}

/**
 * Verifies an OCRA response. Every counter (look-ahead) and timestamp (either side) in the windows is computed
 * and compared in constant time, so a wrong response costs the whole window. Returns the matched counter and
 * timestamp, or null for a well-formed response that matches nothing; a malformed one throws ERR_OTP_FORMAT.
 */
export function verifyOcra(
  suite: string | OcraSuite,
  key: OtpSecret,
  response: string,
  input: OcraInput,
  options: VerifyOcraOptions = {},
): OcraMatch | null {
  checkSecret(key);
  const cw = checkWindow(options.counterWindow, 0, 1000, 'counterWindow');
  const tw = checkWindow(options.timestampWindow, 0, 100, 'timestampWindow');
  const p = prepare(suite, input);
  if (cw > 0 && !p.s.counter) throw new InvalidArgumentError(`${p.s.suite} has no counter to look ahead on`);
  if (tw > 0 && !p.s.timeStep)
    throw new InvalidArgumentError(`${p.s.suite} has no timestamp to allow drift on`);
  const given = responseBytes(p.s, response);
  const c0 = p.s.counter ? toBig(input.counter as number | bigint, 'counter') : 0n;
  const t0 = p.s.timeStep ? toBig(timestampOf(p.s, input, options.clock ?? systemClock), 'timestamp') : 0n;
  const max = 2n ** 64n - 1n;
  let match: OcraMatch | null = null;
  for (let dc = 0; dc <= cw; dc++) {
    const c = c0 + BigInt(dc);
    if (c > max) break;
    if (p.s.counter) p.msg.writeBigUInt64BE(c, p.cOffset);
    for (let dt = -tw; dt <= tw; dt++) {
      const t = t0 + BigInt(dt);
      if (t < 0n || t > max) continue;
      if (p.s.timeStep) p.msg.writeBigUInt64BE(t, p.tOffset);
      const ok = timingSafeEqual(Buffer.from(respond(p, key), 'latin1'), given);
      if (ok && match === null)
        match = { ...(p.s.counter ? { counter: c } : {}), ...(p.s.timeStep ? { timestamp: t } : {}) };
    }
  }
  return match;
}

function responseBytes(s: OcraSuite, response: unknown): Buffer {
  if (typeof response !== 'string' || response.length > Math.max(MAX_CODE_INPUT, 128))
    throw new OtpFormatError('the OCRA response must be a short string');
  if (s.digits === 0) {
    const n = HASH_LEN[s.algorithm] * 2;
    if (response.length !== n || !/^[0-9A-Fa-f]+$/.test(response))
      throw new OtpFormatError(`the OCRA response must be ${n} hex digits`);
    return Buffer.from(response.toLowerCase(), 'latin1');
  }
  if (response.length !== s.digits || !/^[0-9]+$/.test(response))
    throw new OtpFormatError(`the OCRA response must be ${s.digits} decimal digits`);
  return Buffer.from(response, 'latin1');
}
