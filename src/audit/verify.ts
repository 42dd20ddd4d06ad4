import type { KeyObject } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { OfftokenError } from '../errors/base.js';
import {
  AuditChainBrokenError,
  AuditCheckpointInvalidError,
  AuditLineInvalidError,
  AuditTruncatedError,
} from '../errors/offline.js';
import { verifyJws } from '../jose/index.js';
import type { JwsHeader } from '../jose/types.js';
import {
  CHECKPOINT_EVENT,
  CHECKPOINT_LOG_ID,
  CHECKPOINT_TYP,
  GENESIS_PREV,
  lineHash,
  MAX_LINE_BYTES,
} from './format.js';

export interface VerifyAuditOptions {
  /** Public key (or a resolver by kid, e.g. a LocalJwks) that checks checkpoint signatures. */
  key?: KeyObject | ((header: JwsHeader) => KeyObject);
  /** A head recorded earlier by a witness: the log must still contain the line with this hash. */
  expectHead?: string;
  /** The log must hold at least this many entries. */
  minEntries?: number;
  /** The log must end with a final checkpoint, even a log without checkpoints (hash-chained only). */
  requireSealed?: boolean;
  /**
   * Accept a log with signed checkpoints that does not end with its final checkpoint: one still being written
   * (or whose writer crashed). Its entries after the last checkpoint are reported as `unsealedTail` and are not
   * protected by the key. Off by default, because that is also what a cut after a checkpoint looks like. A log
   * with no checkpoint at all is refused even so when a key is given.
   */
  allowOpen?: boolean;
  maxLineBytes?: number;
}

export interface AuditVerifyResult {
  entries: number;
  checkpoints: number;
  /** SHA-256 of the last line (record it to detect later truncation). */
  head: string;
  /** 1-based line of the last checkpoint, 0 when none. */
  lastCheckpointLine: number;
  /** Entries after the last checkpoint: not covered by any signature (non-zero only with allowOpen, or no key). */
  unsealedTail: number;
  /** The last line is the final checkpoint the writer appends on close. */
  sealed: boolean;
  signaturesChecked: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Walks the whole chain. An edit to a line changes its hash, which the next line's `prev` no longer matches;
 * a deletion or reordering breaks `seq` and `prev`; rewriting the chain after an edit needs the checkpoint key;
 * a cut after the last checkpoint leaves a log without its closing (final) checkpoint. With a key, a log must
 * hold a signed checkpoint: otherwise dropping the checkpoint lines (or cutting before the first one) and
 * recomputing seq/prev would pass as a merely unsigned log. What the file alone cannot show: a cut back to
 * exactly an earlier closing checkpoint (use expectHead/minEntries).
 */
export function verifyAuditLog(path: string, options: VerifyAuditOptions = {}): AuditVerifyResult {
  const maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(64 * 1024);
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let lineNo = 0;
  let prev = GENESIS_PREV;
  let checkpoints = 0;
  let lastCheckpointLine = 0;
  let lastFinal = false;
  let sawExpected = options.expectHead === undefined;

  const onLine = (line: Buffer): void => {
    lineNo++;
    const n = lineNo;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new AuditLineInvalidError(`line ${n} is not JSON`, { line: n });
    }
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new AuditLineInvalidError(`line ${n} is not an audit entry`, { line: n });
    if (typeof e.prev !== 'string' || !HEX64.test(e.prev) || !Number.isSafeInteger(e.seq))
      throw new AuditLineInvalidError(`line ${n} has no valid seq/prev`, { line: n });
    if (
      typeof e.time !== 'string' ||
      typeof e.event !== 'string' ||
      typeof e.fields !== 'object' ||
      e.fields === null
    )
      throw new AuditLineInvalidError(`line ${n} lacks time, event or fields`, { line: n });
    const seq = e.seq as number;
    if (seq !== n - 1) {
      const why =
        seq > n - 1
          ? `${seq - (n - 1)} entr${seq - (n - 1) === 1 ? 'y' : 'ies'} missing before it`
          : 'entries re-ordered or duplicated';
      throw new AuditChainBrokenError(`line ${n} has seq ${seq}, expected ${n - 1}: ${why}`, { line: n });
    }
    if (e.prev !== prev)
      throw new AuditChainBrokenError(
        n === 1
          ? 'line 1 does not start a chain: the log was cut at the front'
          : `line ${n} does not follow line ${n - 1}: line ${n - 1} was edited, or lines were removed or re-ordered`,
        { line: n },
      );
    if (e.event === CHECKPOINT_EVENT) {
      lastFinal = checkCheckpoint(e.fields as Record<string, unknown>, prev, seq, n, options.key);
      checkpoints++;
      lastCheckpointLine = n;
    }
    prev = lineHash(line);
    if (!sawExpected && prev === options.expectHead) sawExpected = true;
  };

  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1 || nl >= read) break;
        const piece = chunk.subarray(start, nl);
        if (pendingLen + piece.length > maxLine)
          throw new AuditLineInvalidError(`line ${lineNo + 1} exceeds ${maxLine} bytes`, {
            line: lineNo + 1,
          });
        const line = pendingLen === 0 ? Buffer.from(piece) : Buffer.concat([...pending, piece]);
        pending = [];
        pendingLen = 0;
        onLine(line);
        start = nl + 1;
      }
      if (start < read) {
        const rest = Buffer.from(chunk.subarray(start, read));
        pendingLen += rest.length;
        if (pendingLen > maxLine)
          throw new AuditLineInvalidError(`line ${lineNo + 1} exceeds ${maxLine} bytes`, {
            line: lineNo + 1,
          });
        pending.push(rest);
      }
    }
  } finally {
    closeSync(fd);
  }
  // Every writer ends a line with "\n" in one write: bytes after the last newline are a cut (or crashed) append.
  if (pendingLen > 0)
    throw new AuditTruncatedError(
      `the log was cut inside line ${lineNo + 1} (no final newline): truncated, or its writer crashed mid-append`,
      { line: lineNo + 1 },
    );

  const entries = lineNo;
  const unsealedTail = entries - lastCheckpointLine;
  const sealed = entries > 0 && unsealedTail === 0 && lastFinal;
  // A writer with a checkpoint key signs a checkpoint when it opens an empty log and another when it closes, so
  // a log checked with the key and carrying no checkpoint lost them: every line could have been rewritten (the
  // chain alone is recomputable without the key). --allow-open does not help: it accepts an unsigned tail only
  // after a signed checkpoint.
  if (options.key !== undefined && checkpoints === 0)
    throw new AuditTruncatedError(
      entries === 0
        ? 'the log is empty: a log written with a checkpoint key holds at least its signed checkpoints, so it was cut to 0 bytes'
        : `the log has no signed checkpoint in its ${entries} line${entries === 1 ? '' : 's'}: the checkpoints were removed or the log was cut before its first one, and nothing in it is covered by the key`,
      { line: entries },
    );
  // A writer with a signing key always ends with a final checkpoint on close. A log that has checkpoints but
  // does not end with a final one was cut after line `entries` (or is still open, or its writer crashed).
  if (checkpoints > 0 && !sealed && !options.allowOpen)
    throw new AuditTruncatedError(
      unsealedTail > 0
        ? `the log ends at line ${entries}, ${unsealedTail} entr${unsealedTail === 1 ? 'y' : 'ies'} after the last checkpoint (line ${lastCheckpointLine}) and without the closing checkpoint: lines after ${entries} were cut, or the log is still open (--allow-open)`
        : `the log ends at line ${entries} with a periodic checkpoint, not the closing one: lines after ${entries} were cut, or the log is still open (--allow-open)`,
      { line: entries },
    );
  if (!sawExpected)
    throw new AuditTruncatedError(
      `no line up to the end (line ${entries}) has the expected head hash: the log was cut or rewritten`,
      { line: entries },
    );
  if (options.minEntries !== undefined && entries < options.minEntries)
    throw new AuditTruncatedError(
      `the log ends at line ${entries}, expected at least ${options.minEntries} entries: lines were cut`,
      { line: entries },
    );
  if (options.requireSealed && !sealed)
    throw new AuditTruncatedError(
      `the log ends at line ${entries} without its closing checkpoint (${unsealedTail} unsealed entries)`,
      { line: entries },
    );
  return {
    entries,
    checkpoints,
    head: prev,
    lastCheckpointLine,
    unsealedTail,
    sealed,
    signaturesChecked: options.key !== undefined,
  };
}

function checkCheckpoint(
  f: Record<string, unknown>,
  prev: string,
  seq: number,
  n: number,
  key: VerifyAuditOptions['key'],
): boolean {
  if (
    f.head !== prev ||
    f.seq !== seq - 1 ||
    typeof f.sig !== 'string' ||
    f.sig.length > 4096 ||
    (f.final !== undefined && f.final !== true)
  )
    throw new AuditCheckpointInvalidError(`checkpoint on line ${n} does not cover the chain head before it`, {
      line: n,
    });
  const final = f.final === true;
  if (key === undefined) return final;
  let payload: unknown;
  try {
    const r = verifyJws(f.sig, key, { algorithms: ['EdDSA'], maxTokenSize: 4096 });
    if (r.header.typ !== CHECKPOINT_TYP) throw new AuditCheckpointInvalidError('wrong typ');
    payload = JSON.parse(r.payload.toString('utf8'));
  } catch (e) {
    const code = e instanceof OfftokenError ? e.code : 'ERR_INTERNAL';
    throw new AuditCheckpointInvalidError(`checkpoint on line ${n} has an invalid signature (${code})`, {
      line: n,
      cause: e,
    });
  }
  const p = payload as Record<string, unknown>;
  if (p?.log !== CHECKPOINT_LOG_ID || p.head !== prev || p.seq !== seq - 1 || (p.final === true) !== final)
    throw new AuditCheckpointInvalidError(`checkpoint on line ${n} signs another head`, { line: n });
  return final;
}
