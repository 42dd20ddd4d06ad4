import { InvalidArgumentError } from '../errors/base.js';
import { OfflineTokenScopeError } from '../errors/offline.js';
import { importJwk } from '../keys/jwk.js';
import type { Jwk, OfftokenKey } from '../keys/types.js';
import type { OfflineTokenGenerator } from '../offline/generator.js';
import type { AuditSink, ConsumeStore, OfflineTokenClaims } from '../offline/types.js';

/**
 * Device provisioning: an offline machine mints one time-limited, single-use token per device serial; the
 * gateway accepts each once. The audience and action are fixed so a provisioning token is useless anywhere else
 * (and a token minted for anything else is refused here).
 */
export const PROVISION_AUDIENCE = 'offtoken:provision';
export const PROVISION_ACTION = 'provision';
export const DEFAULT_PROVISION_TTL = 7 * 24 * 3600;
const SERIAL_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface ProvisioningRecord {
  serial: string;
  jti: string;
  exp: number;
  token: string;
}

/** Parses a serials file: one serial per line, blank lines and `#` comments ignored, duplicates refused. */
export function parseSerials(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    if (!SERIAL_RE.test(s))
      throw new InvalidArgumentError(`line ${i + 1}: a serial is 1-128 characters of A-Z a-z 0-9 . _ : -`);
    if (seen.has(s)) throw new InvalidArgumentError(`line ${i + 1}: serial ${s} appears twice`);
    seen.add(s);
    out.push(s);
  });
  return out;
}

/** A device of a nested batch: its serial and its public ECDH-ES key (the token is encrypted to it). */
export interface ProvisionDevice {
  serial: string;
  key: OfftokenKey;
}

/** Longest line of a device-keys file: a serial and a public P-256 JWK fit many times over. */
const MAX_DEVICE_LINE = 4096;

/**
 * Parses a device-keys file for nested batches: JSON lines `{"serial":"...","jwk":{...public ECDH-ES JWK}}`,
 * blank lines and `#` comments ignored. Serials follow the serials-file rule; a duplicate serial, a private key
 * member or a key that is not X25519/P-256 is refused with its line number.
 */
export function parseDeviceKeys(text: string): ProvisionDevice[] {
  const out: ProvisionDevice[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `line ${i + 1}`;
    if (line.length > MAX_DEVICE_LINE)
      throw new InvalidArgumentError(`${at}: longer than ${MAX_DEVICE_LINE} characters`);
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new InvalidArgumentError(`${at}: not JSON`);
    }
    const { serial, jwk } = (rec ?? {}) as { serial?: unknown; jwk?: unknown };
    if (typeof serial !== 'string' || !SERIAL_RE.test(serial))
      throw new InvalidArgumentError(`${at}: a serial is 1-128 characters of A-Z a-z 0-9 . _ : -`);
    if (seen.has(serial)) throw new InvalidArgumentError(`${at}: serial ${serial} appears twice`);
    if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
      throw new InvalidArgumentError(`${at}: jwk must be the device's public ECDH-ES JWK`);
    let key: OfftokenKey;
    try {
      key = importJwk(jwk as Jwk, { alg: 'ECDH-ES', public: true });
    } catch (e) {
      throw new InvalidArgumentError(`${at}: ${(e as Error).message}`);
    }
    seen.add(serial);
    out.push({ serial, key });
  });
  return out;
}

export interface ProvisionBatchOptions {
  ttlSeconds?: number;
  /** Called after each token (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Mints one token per serial (sub = device = serial). For a nested generator each entry is a device with its
 * public key, and its token is encrypted to that key: only that device can read it.
 */
export function* issueProvisioningBatch(
  gen: OfflineTokenGenerator,
  serials: readonly (string | ProvisionDevice)[],
  options: ProvisionBatchOptions = {},
): Generator<ProvisioningRecord> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_PROVISION_TTL;
  let done = 0;
  for (const entry of serials) {
    const serial = typeof entry === 'string' ? entry : entry?.serial;
    if (typeof serial !== 'string' || !SERIAL_RE.test(serial))
      throw new InvalidArgumentError('invalid serial');
    if ((gen.mode === 'nested') !== (typeof entry !== 'string'))
      throw new InvalidArgumentError(
        'a nested batch takes devices with their public keys; other modes take serials',
      );
    const { token, claims } = gen.issue(undefined, {
      sub: serial,
      device: serial,
      act: PROVISION_ACTION,
      aud: PROVISION_AUDIENCE,
      ttlSeconds,
      ...(typeof entry !== 'string' && { recipient: entry.key }),
    });
    done++;
    options.onProgress?.(done, serials.length);
    yield { serial, jti: claims.jti, exp: claims.exp, token };
  }
}

export interface ProvisionCheckOptions {
  consume: ConsumeStore;
  audit?: AuditSink;
}

/** The gateway side: accepts a provisioning token once and returns the device serial it was minted for. */
export async function checkProvisioningToken(
  gen: OfflineTokenGenerator,
  token: string,
  options: ProvisionCheckOptions,
): Promise<{ serial: string; claims: OfflineTokenClaims }> {
  try {
    const r = gen.verify(token, { audience: PROVISION_AUDIENCE });
    const c = r.claims;
    // Scope first, so a token minted for something else is refused without burning its jti.
    if (c.act?.name !== PROVISION_ACTION || c.device === undefined || c.sub !== c.device)
      throw new OfflineTokenScopeError('the token is not a device provisioning token');
    await gen.consume(r, options.consume);
    options.audit?.record('provision.accept', { serial: c.device, jti: c.jti, kid: r.kid });
    return { serial: c.device, claims: c };
  } catch (e) {
    options.audit?.record('provision.reject', { code: (e as { code?: string }).code ?? 'ERR_INTERNAL' });
    throw e;
  }
}
