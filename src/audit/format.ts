import { createHash } from 'node:crypto';

/**
 * Audit log line format (docs/formats/audit-log.md): one JSON object per line, keys in this order,
 *   {"seq":0,"time":"2026-01-01T00:00:00.000Z","event":"token.issue","fields":{...},"prev":"<64 hex>"}
 * `prev` is the SHA-256 of the exact bytes of the previous line (without its "\n"); the first line's is
 * 64 zeros. A checkpoint is an entry with event `audit.checkpoint` whose fields carry an EdDSA JWS over the
 * chain head it follows; the one written on close is marked `final`.
 */
export const GENESIS_PREV = '0'.repeat(64);
export const CHECKPOINT_EVENT = 'audit.checkpoint';
export const CHECKPOINT_TYP = 'offtoken-audit-checkpoint+jwt';
export const CHECKPOINT_LOG_ID = 'offtoken-audit-v1';
/** Longest line written or read; a longer one is refused rather than buffered. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface AuditEntry {
  seq: number;
  time: string;
  event: string;
  fields: Record<string, unknown>;
  prev: string;
}

/**
 * What a checkpoint signs: the log format, the seq of the last entry covered, and that entry's line hash.
 * `final` marks the checkpoint `close()` writes: a log whose last line is not a final checkpoint was cut after
 * it (or its writer is still running, or crashed), which is how a cut after the last checkpoint is detected.
 */
export interface CheckpointPayload {
  log: string;
  seq: number;
  head: string;
  final?: true;
}

export function lineHash(line: Uint8Array | string): string {
  return createHash('sha256').update(line).digest('hex');
}

const SECRET_NAMES = /^(token|secret|password|passphrase|key|privateKey|private_key|d|k)$/i;
const MAX_STRING = 256;

/**
 * Defence in depth for "never a secret or a whole token": fields named like secrets are replaced, long strings
 * (a compact token is hundreds of characters) are cut, and only scalars and short scalar arrays are kept.
 */
export function sanitiseFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (SECRET_NAMES.test(k)) {
      out[k] = '[redacted]';
      continue;
    }
    out[k.slice(0, 64)] = sanitiseValue(v, 0);
  }
  return out;
}

function sanitiseValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}...[cut]` : v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v) && depth === 0) return v.slice(0, 32).map((x) => sanitiseValue(x, 1));
  return '[omitted]';
}
