import { InvalidArgumentError } from '../errors/base.js';
import { OfflineTokenScopeError } from '../errors/offline.js';
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

export interface ProvisionBatchOptions {
  ttlSeconds?: number;
  /** Called after each token (for a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

/** Mints one token per serial (sub = device = serial). */
export function* issueProvisioningBatch(
  gen: OfflineTokenGenerator,
  serials: readonly string[],
  options: ProvisionBatchOptions = {},
): Generator<ProvisioningRecord> {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_PROVISION_TTL;
  let done = 0;
  for (const serial of serials) {
    if (!SERIAL_RE.test(serial)) throw new InvalidArgumentError('invalid serial');
    const { token, claims } = gen.issue(undefined, {
      sub: serial,
      device: serial,
      act: PROVISION_ACTION,
      aud: PROVISION_AUDIENCE,
      ttlSeconds,
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
