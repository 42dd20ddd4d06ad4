import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type Clock, systemClock } from '../clock.js';
import { InvalidArgumentError } from '../errors/base.js';
import { AuditLineInvalidError, AuditLockedError } from '../errors/offline.js';
import { signJws } from '../jose/index.js';
import type { OfftokenKey } from '../keys/types.js';
import {
  type AuditEntry,
  CHECKPOINT_EVENT,
  CHECKPOINT_LOG_ID,
  CHECKPOINT_TYP,
  type CheckpointPayload,
  GENESIS_PREV,
  lineHash,
  MAX_LINE_BYTES,
  sanitiseFields,
} from './format.js';

export interface AuditLogOptions {
  /** Ed25519 key (with its private half) that signs checkpoints. Without it the log is hash-chained only. */
  signingKey?: OfftokenKey;
  /** A checkpoint after every this many entries (default 100), one opening a new log, and always on close. */
  checkpointEvery?: number;
  /** fsync after every entry (default false: only at checkpoints and close). */
  sync?: boolean;
  clock?: Clock;
}

function lock(path: string): string {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return lockPath;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Two writers would fork the chain. A lock left by a dead process is taken over; a live one is refused.
      const pid = Number(readFileSync(lockPath, 'utf8'));
      let alive = Number.isSafeInteger(pid) && pid > 0;
      if (alive) {
        try {
          process.kill(pid, 0);
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) throw new AuditLockedError(`the audit log is being written by process ${pid}`);
      unlinkSync(lockPath);
    }
  }
  throw new AuditLockedError('could not take the audit log lock');
}

/** Reads the last line of an existing log to continue its chain; refuses a log whose last line is cut. */
function readTail(fd: number): { seq: number; head: string; final: boolean } | undefined {
  const size = fstatSync(fd).size;
  if (size === 0) return undefined;
  const len = Math.min(size, MAX_LINE_BYTES + 1);
  const buf = Buffer.alloc(len);
  readSync(fd, buf, 0, len, size - len);
  if (buf[len - 1] !== 0x0a)
    throw new AuditLineInvalidError(
      'the audit log ends in a truncated line; run `offtoken audit verify` first',
    );
  const start = buf.lastIndexOf(0x0a, len - 2) + 1;
  if (start === 0 && len < size) throw new AuditLineInvalidError('the last audit line is too long');
  const line = buf.subarray(start, len - 1);
  let last: { seq?: unknown; event?: unknown; fields?: { final?: unknown } };
  try {
    last = JSON.parse(line.toString('utf8'));
  } catch {
    throw new AuditLineInvalidError('the last audit line is not JSON; run `offtoken audit verify` first');
  }
  if (!Number.isSafeInteger(last?.seq)) throw new AuditLineInvalidError('the last audit line has no seq');
  const final = last.event === CHECKPOINT_EVENT && last.fields?.final === true;
  return { seq: last.seq as number, head: lineHash(line), final };
}

/**
 * An append-only, hash-chained audit log with signed checkpoints. One writer per file (a lock file enforces it).
 * Implements the `AuditSink` the offline generator records to.
 */
export class AuditLog {
  readonly path: string;
  #fd: number | undefined;
  #lockPath: string;
  #seq: number;
  #head: string;
  #sinceCheckpoint = 0;
  /** The last line is a final checkpoint: closing again adds nothing. */
  #sealed = false;
  readonly #every: number;
  readonly #key: OfftokenKey | undefined;
  readonly #sync: boolean;
  readonly #clock: Clock;

  private constructor(path: string, o: AuditLogOptions) {
    this.path = path;
    this.#every = o.checkpointEvery ?? 100;
    if (!Number.isSafeInteger(this.#every) || this.#every < 1)
      throw new InvalidArgumentError('checkpointEvery must be a positive integer');
    if (o.signingKey && (o.signingKey.alg !== 'EdDSA' || !o.signingKey.privateKey))
      throw new InvalidArgumentError('checkpoints are signed with an EdDSA private key');
    this.#key = o.signingKey;
    this.#sync = o.sync ?? false;
    this.#clock = o.clock ?? systemClock;
    this.#lockPath = lock(path);
    try {
      this.#fd = openSync(path, 'a+', 0o600);
      const tail = readTail(this.#fd);
      this.#seq = tail ? tail.seq + 1 : 0;
      this.#head = tail ? tail.head : GENESIS_PREV;
      this.#sealed = tail?.final ?? false;
      // A new log starts with a signed checkpoint over the empty chain: a verifier with the key then refuses a
      // log without any checkpoint (removed, or cut before the first), and a log still being written is covered
      // up to its last checkpoint from its first line on.
      if (this.#key && tail === undefined) this.#checkpoint(false);
    } catch (e) {
      if (this.#fd !== undefined) closeSync(this.#fd);
      unlinkSync(this.#lockPath);
      throw e;
    }
  }

  /** Opens (or creates) the log at `path` and continues its chain. */
  static open(path: string, options: AuditLogOptions = {}): AuditLog {
    return new AuditLog(path, options);
  }

  /** SHA-256 of the last line written: give it to a witness to detect later tail truncation (`--expect-head`). */
  get head(): string {
    return this.#head;
  }

  /** Number of entries in the log. */
  get entries(): number {
    return this.#seq;
  }

  #append(event: string, fields: Record<string, unknown>): void {
    if (this.#fd === undefined) throw new InvalidArgumentError('the audit log is closed');
    const entry: AuditEntry = {
      seq: this.#seq,
      time: new Date(this.#clock() * 1000).toISOString(),
      event: event.slice(0, 64),
      fields,
      prev: this.#head,
    };
    const line = Buffer.from(JSON.stringify(entry), 'utf8');
    if (line.length > MAX_LINE_BYTES) throw new InvalidArgumentError('the audit entry is too large');
    writeSync(this.#fd, Buffer.concat([line, Buffer.from('\n')]));
    if (this.#sync) fsyncSync(this.#fd);
    this.#head = lineHash(line);
    this.#seq++;
    this.#sealed = false;
  }

  /** Appends an event; fields are sanitised (no secrets, no whole tokens). */
  record(event: string, fields: Record<string, unknown> = {}): void {
    if (typeof event !== 'string' || event.length === 0)
      throw new InvalidArgumentError('event must be a string');
    // Only the writer may append checkpoints: a caller-made one would carry no valid signature.
    if (event === CHECKPOINT_EVENT) throw new InvalidArgumentError(`${CHECKPOINT_EVENT} is reserved`);
    this.#append(event, sanitiseFields(fields));
    this.#sinceCheckpoint++;
    if (this.#key && this.#sinceCheckpoint >= this.#every) this.checkpoint();
  }

  /** Appends a signed checkpoint over the current head (no-op without a signing key or with nothing new). */
  checkpoint(): void {
    if (this.#sinceCheckpoint > 0) this.#checkpoint(false);
  }

  #checkpoint(final: boolean): void {
    const key = this.#key;
    if (!key?.privateKey) return;
    // On an empty log (the opening checkpoint) this signs seq -1 and the genesis head.
    const payload: CheckpointPayload = { log: CHECKPOINT_LOG_ID, seq: this.#seq - 1, head: this.#head };
    if (final) payload.final = true;
    const sig = signJws(JSON.stringify(payload), key.privateKey, {
      alg: 'EdDSA',
      kid: key.kid,
      typ: CHECKPOINT_TYP,
    });
    this.#append(CHECKPOINT_EVENT, {
      kid: key.kid,
      seq: payload.seq,
      head: payload.head,
      ...(final && { final: true }),
      sig,
    });
    this.#sinceCheckpoint = 0;
    this.#sealed = final;
    if (this.#fd !== undefined) fsyncSync(this.#fd);
  }

  /** Seals the log with a final checkpoint (unless its last line already is one) and releases the lock. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      if (!this.#sealed) this.#checkpoint(true);
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
      this.#fd = undefined;
      try {
        unlinkSync(this.#lockPath);
      } catch {
        // already gone: nothing to release
      }
    }
  }
}
