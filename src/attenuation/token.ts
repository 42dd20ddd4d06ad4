import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { InputTooLargeError, InvalidArgumentError } from '../errors/base.js';
import { AttenuationInvalidError } from '../errors/dpop.js';
import { parseJsonObject } from '../jose/lib/json.js';

/** Limits of the format (docs/formats/attenuated-token.md). */
export const MAX_CAVEATS = 32;
export const MAX_CAVEAT_LENGTH = 1024;
export const MAX_IDENTIFIER_LENGTH = 512;
export const MAX_TOKEN_LENGTH = 16_384;

/** A decoded attenuated token. `sig` is the tail of the HMAC chain. */
export interface AttenuatedToken {
  id: string;
  caveats: string[];
  sig: Buffer;
}

const mac = (key: Uint8Array, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

function checkCaveat(c: unknown): asserts c is string {
  if (typeof c !== 'string' || c.length === 0 || c.length > MAX_CAVEAT_LENGTH) {
    throw new InvalidArgumentError(
      `a caveat must be a non-empty string of at most ${MAX_CAVEAT_LENGTH} characters`,
    );
  }
}

/** Mints a token: sig_0 = HMAC-SHA256(rootKey, identifier), then one chained HMAC per caveat. */
export function mintAttenuated(
  rootKey: Uint8Array,
  identifier: string,
  caveats: readonly string[] = [],
): string {
  if (!(rootKey instanceof Uint8Array) || rootKey.length < 32)
    throw new InvalidArgumentError('rootKey must be at least 32 bytes');
  if (
    typeof identifier !== 'string' ||
    identifier.length === 0 ||
    identifier.length > MAX_IDENTIFIER_LENGTH
  ) {
    throw new InvalidArgumentError('identifier must be a non-empty string');
  }
  let t: AttenuatedToken = { id: identifier, caveats: [], sig: mac(rootKey, identifier) };
  for (const c of caveats) t = appendOne(t, c);
  return serialise(t);
}

function appendOne(t: AttenuatedToken, caveat: string): AttenuatedToken {
  checkCaveat(caveat);
  if (t.caveats.length >= MAX_CAVEATS) throw new InputTooLargeError(`at most ${MAX_CAVEATS} caveats`);
  // The previous signature is the key: only the holder of sig_{i-1} can extend, and sig_{i-1} cannot be
  // recovered from sig_i, so a caveat cannot be removed or reordered without the root key.
  return { id: t.id, caveats: [...t.caveats, caveat], sig: mac(t.sig, caveat) };
}

/** Appends caveats without the root key: anyone holding the token can narrow it. */
export function attenuate(token: string, ...caveats: string[]): string {
  let t = parseAttenuated(token);
  for (const c of caveats) t = appendOne(t, c);
  return serialise(t);
}

function serialise(t: AttenuatedToken): string {
  const s = encodeBase64url(JSON.stringify({ v: 1, id: t.id, c: t.caveats, s: t.sig.toString('base64url') }));
  if (s.length > MAX_TOKEN_LENGTH)
    throw new InputTooLargeError(`an attenuated token is limited to ${MAX_TOKEN_LENGTH} characters`);
  return s;
}

const JSON_LIMITS = { maxDepth: 4, rejectDuplicates: true };

/** Decodes without verifying. Hostile input -> ERR_INPUT_TOO_LARGE or ERR_ATTENUATION_INVALID. */
export function parseAttenuated(token: string): AttenuatedToken {
  if (typeof token !== 'string') throw new AttenuationInvalidError('the attenuated token must be a string');
  if (token.length > MAX_TOKEN_LENGTH)
    throw new InputTooLargeError(`an attenuated token is limited to ${MAX_TOKEN_LENGTH} characters`);
  let o: unknown;
  try {
    // the jose core's strict parser: a repeated member name is refused, never resolved to the last one
    o = parseJsonObject(
      decodeBase64url(token, 'attenuated token').toString('utf8'),
      JSON_LIMITS,
      (r) => new Error(r),
    );
  } catch (e) {
    throw new AttenuationInvalidError(
      `the attenuated token is not base64url JSON${e instanceof Error && e.message.startsWith('has a duplicate') ? ` (it ${e.message})` : ''}`,
    );
  }
  const r = o as { v?: unknown; id?: unknown; c?: unknown; s?: unknown };
  if (
    typeof o !== 'object' ||
    o === null ||
    Array.isArray(o) ||
    r.v !== 1 ||
    typeof r.id !== 'string' ||
    r.id.length === 0 ||
    r.id.length > MAX_IDENTIFIER_LENGTH ||
    !Array.isArray(r.c) ||
    r.c.length > MAX_CAVEATS ||
    !r.c.every((c) => typeof c === 'string' && c.length > 0 && c.length <= MAX_CAVEAT_LENGTH) ||
    typeof r.s !== 'string' ||
    !/^[A-Za-z0-9_-]{43}$/.test(r.s)
  ) {
    throw new AttenuationInvalidError('the attenuated token is malformed');
  }
  return { id: r.id, caveats: r.c as string[], sig: Buffer.from(r.s, 'base64url') };
}

/** Recomputes the chain from the root key; ERR_ATTENUATION_INVALID unless the final signature matches. */
export function verifyChain(rootKey: Uint8Array, token: string): AttenuatedToken {
  const t = parseAttenuated(token);
  let sig = mac(rootKey, t.id);
  for (const c of t.caveats) sig = mac(sig, c);
  if (sig.length !== t.sig.length || !timingSafeEqual(sig, t.sig)) {
    throw new AttenuationInvalidError(
      'the caveat chain does not verify: tampered, removed or reordered caveat, or another root key',
    );
  }
  return t;
}
