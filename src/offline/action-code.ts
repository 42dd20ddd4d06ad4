import { createHash, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { ActionCodeInvalidError, ActionCodeReplayedError } from '../errors/offline.js';
import { ocra } from '../otp/index.js';
import type { ReplayStore } from '../stores/types.js';
import { normaliseAction } from './claims.js';
import type { ActionParams } from './types.js';

/**
 * Action-bound short codes (RFC 6287 OCRA signature suites): the code a keypad or a phone call carries is
 * OCRA(key, question = H(action, params), time step), so a code for "pay 100 to Bob" is useless for "pay 900 to
 * Eve" and after a few minutes. Canonicalisation (docs/formats/offline-token.md, "Action codes"):
 *   canonical = JSON of {"a": name, "p": params with keys sorted by UTF-16 code units}, no whitespace,
 *               params values restricted to strings, booleans and safe integers (no floats: "12.50" vs 12.5)
 *   question  = hex(SHA-256("offtoken action v1\n" || UTF-8(canonical))), first xx hex digits of suite's QHxx
 */
export const DEFAULT_ACTION_SUITE = 'OCRA-1:HOTP-SHA256-8:QH64-T1M';

const SUITE_RE = /^OCRA-1:HOTP-SHA(1|256|512)-(\d{1,2}):QH(\d{2})-T(\d{1,2})([SMH])$/;
const UNIT = { S: 1, M: 60, H: 3600 } as const;

interface ParsedSuite {
  digits: number;
  qlen: number;
  step: number;
}

function parseSuite(suite: string): ParsedSuite {
  const m = SUITE_RE.exec(suite);
  if (!m)
    throw new InvalidArgumentError(
      'action codes need an OCRA suite of the form OCRA-1:HOTP-SHA256-8:QH64-T1M (hex question, time step, no counter or PIN)',
    );
  const digits = Number(m[2]);
  const qlen = Number(m[3]);
  // 8-10 digits: a 6-digit code bound to money is guessable within a handful of windows of attempts.
  if (digits < 8 || digits > 10) throw new InvalidArgumentError('action codes must have 8 to 10 digits');
  // At least 160 bits of the hash, so finding two actions with the same question is out of reach.
  if (qlen < 40 || qlen > 64) throw new InvalidArgumentError('the hex question length must be 40 to 64');
  return { digits, qlen, step: Number(m[4]) * UNIT[m[5] as keyof typeof UNIT] };
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical JSON of an action and its parameters (exported so other implementations can test against it). */
export function canonicalAction(action: string, params: ActionParams = {}): string {
  const a = normaliseAction(action, params)!;
  const p = a.params ?? {};
  const sorted: ActionParams = {};
  for (const k of Object.keys(p).sort(compareKeys)) sorted[k] = p[k]!;
  return JSON.stringify({ a: a.name, p: sorted });
}

/** The OCRA hex question for an action: SHA-256 of the domain-separated canonical JSON. */
export function actionQuestion(action: string, params: ActionParams = {}, length = 64): string {
  return createHash('sha256')
    .update(`offtoken action v1\n${canonicalAction(action, params)}`, 'utf8')
    .digest('hex')
    .slice(0, length);
}

export interface ActionCodeOptions {
  /** Shared secret (raw bytes, or a secret KeyObject such as an HS256 key's secretKey). */
  key: Uint8Array | KeyObject;
  action: string;
  params?: ActionParams;
  suite?: string;
  clock?: Clock;
}

function keyBytes(key: Uint8Array | KeyObject): Uint8Array {
  if (key instanceof Uint8Array) {
    if (key.length < 16) throw new InvalidArgumentError('an action-code key must be at least 16 bytes');
    return key;
  }
  if (key?.type === 'secret') return key.export();
  throw new InvalidArgumentError('the action-code key must be raw bytes or a secret KeyObject');
}

function codeAt(suite: string, key: Uint8Array, question: string, step: number): string {
  return ocra(suite, key, { question, timestamp: step });
}

/** Creates the code for `action` with `params` at the current time step. */
export function createActionCode(o: ActionCodeOptions): string {
  const suite = o.suite ?? DEFAULT_ACTION_SUITE;
  const s = parseSuite(suite);
  const step = Math.floor((o.clock ?? systemClock)() / s.step);
  return codeAt(suite, keyBytes(o.key), actionQuestion(o.action, o.params, s.qlen), step);
}

export interface VerifyActionCodeOptions extends ActionCodeOptions {
  code: string;
  /** Time steps accepted either side of now (default 1: a one-minute step accepts codes up to ~2 min old). */
  window?: number;
  /** Refuse a code seen before within its window. */
  consume?: ReplayStore;
  namespace?: string;
}

/**
 * Recomputes the code for every step in the window and compares each in constant time (no early exit), so the
 * timing does not say which step or how many digits matched. Returns the matched step offset (-window..window).
 */
export async function verifyActionCode(o: VerifyActionCodeOptions): Promise<number> {
  const delta = matchActionCode(o);
  if (o.consume) {
    const s = parseSuite(o.suite ?? DEFAULT_ACTION_SUITE);
    const now = (o.clock ?? systemClock)();
    const step = Math.floor(now / s.step) + delta;
    const id = createHash('sha256')
      .update(`${step}\n${actionQuestion(o.action, o.params, 64)}\n${o.code}`)
      .digest('base64url');
    const window = o.window ?? 1;
    const until = (Math.floor(now / s.step) + window + 2) * s.step;
    const first = await o.consume.consumeOnce(o.namespace ?? 'offtoken:action', id, until);
    if (!first) throw new ActionCodeReplayedError('this action code was already used');
  }
  return delta;
}

/** The synchronous check without replay protection; throws ERR_ACTION_CODE_INVALID on mismatch. */
export function matchActionCode(o: VerifyActionCodeOptions): number {
  const suite = o.suite ?? DEFAULT_ACTION_SUITE;
  const s = parseSuite(suite);
  const window = o.window ?? 1;
  if (!Number.isSafeInteger(window) || window < 0 || window > 10)
    throw new InvalidArgumentError('window must be an integer from 0 to 10');
  if (typeof o.code !== 'string' || !/^\d+$/.test(o.code) || o.code.length !== s.digits)
    throw new ActionCodeInvalidError(`the code must be ${s.digits} digits`);
  const key = keyBytes(o.key);
  const question = actionQuestion(o.action, o.params, s.qlen);
  const now = Math.floor((o.clock ?? systemClock)() / s.step);
  const given = Buffer.from(o.code, 'utf8');
  let matched: number | undefined;
  for (let d = -window; d <= window; d++) {
    const expected = Buffer.from(codeAt(suite, key, question, now + d), 'utf8');
    if (expected.length === given.length && timingSafeEqual(expected, given) && matched === undefined)
      matched = d;
  }
  if (matched === undefined)
    throw new ActionCodeInvalidError(
      'the code does not match this action, its parameters and the current time',
    );
  return matched;
}
