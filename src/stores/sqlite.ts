import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { type Clock, systemClock } from '../clock.js';
import { StoreUnavailableError } from '../errors/stores.js';
import type {
  NewOtpCredential,
  OfftokenStore,
  OtpAttempt,
  OtpAttemptInput,
  OtpCredentialRecord,
} from './types.js';

export const DEFAULT_SQLITE_PATH = '.offtoken/store.db';
const SCHEMA_VERSION = 1;

/*
 * Every mutation is one SQL statement or one transaction, so a process killed at any instant leaves
 * either the old or the new row (SQLite's journal guarantees it), never a half-applied verification.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS replay (ns TEXT NOT NULL, k TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (ns, k)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_exp ON replay (expires_at);
CREATE TABLE IF NOT EXISTS counters (ns TEXT NOT NULL, k TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (ns, k)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS otp_credentials (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, algorithm TEXT NOT NULL, digits INTEGER NOT NULL, period INTEGER NOT NULL,
  sealed_secret TEXT NOT NULL, last INTEGER NOT NULL DEFAULT -1, drift INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

interface Row {
  id: string;
  type: string;
  algorithm: string;
  digits: number;
  period: number;
  sealed_secret: string;
  last: number;
  drift: number;
  failures: number;
  locked_until: number;
  created_at: number;
}

function toRecord(r: Row): OtpCredentialRecord {
  return {
    id: r.id,
    type: r.type as OtpCredentialRecord['type'],
    algorithm: r.algorithm as OtpCredentialRecord['algorithm'],
    digits: r.digits,
    period: r.period,
    sealedSecret: r.sealed_secret,
    last: r.last,
    drift: r.drift,
    failures: r.failures,
    lockedUntil: r.locked_until,
    createdAt: r.created_at,
  };
}

interface AdmitParams {
  id: string;
  now: number;
  floorNow: number;
  digits: number;
  max: number;
  base: number;
  maxDelay: number;
}

function admitParams(id: string, { now, policy, digits }: OtpAttemptInput): AdmitParams {
  return {
    id,
    now,
    floorNow: Math.floor(now),
    digits,
    max: policy.maxFailures,
    base: policy.baseDelay,
    maxDelay: policy.maxDelay,
  };
}

/** successIf's parameters: last, drift, id, expected last, drift and sealed secret, now, maxFailures, last. */
type AcceptParams = [number, number, string, number, number, string, number, number, number];

type AttemptAnswer = OtpAttempt | { status: 'accepted' };
const ACCEPTED: AttemptAnswer = Object.freeze({ status: 'accepted' });

interface Pending {
  id: string;
  attempt: OtpAttemptInput;
  accept: AcceptParams | undefined;
  resolve: (a: AttemptAnswer) => void;
  reject: (e: unknown) => void;
}

/** Embedded store: one SQLite file in WAL mode, shared safely by several processes on one host. */
export class SqliteStore implements OfftokenStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #clock: Clock;
  #ops = 0;
  readonly #s;

  constructor(path: string = DEFAULT_SQLITE_PATH, options: { clock?: Clock; busyTimeoutMs?: number } = {}) {
    this.path = path;
    this.#clock = options.clock ?? systemClock;
    try {
      if (path !== ':memory:') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // Created owner-only before SQLite opens it (its -wal and -shm files take the same mode); an existing
        // file keeps the mode its owner gave it.
        closeSync(openSync(path, 'a', 0o600));
      }
      // Loaded on first use, so importing offtoken for JWT or offline-token checks never loads the native addon.
      const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
      this.#db = new Sqlite(path);
      this.#db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      // Every commit appends each page it changed to the WAL, checksummed: with 1 KiB pages the one-row
      // commit of a verify costs about 0.6x what it does with the 4 KiB default. Takes effect only on a
      // new file (an existing WAL database keeps its page size).
      this.#db.pragma('page_size = 1024');
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      const version = this.#db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new StoreUnavailableError(
          `SQLite store schema version ${version} is newer than this offtoken (${SCHEMA_VERSION}); upgrade offtoken`,
        );
      }
      if (version < SCHEMA_VERSION) {
        this.#db
          .transaction(() => {
            this.#db.exec(SCHEMA);
            this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
          })
          .immediate();
      }
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      throw new StoreUnavailableError(`cannot open SQLite store: ${(e as Error).message}`, { cause: e });
    }
    const db = this.#db;
    this.#s = {
      replayDelExpired: db.prepare('DELETE FROM replay WHERE ns = ? AND k = ? AND expires_at <= ?'),
      replayInsert: db.prepare('INSERT OR IGNORE INTO replay (ns, k, expires_at) VALUES (?, ?, ?)'),
      replayPruneNoRowid: db.prepare(
        'DELETE FROM replay WHERE (ns, k) IN (SELECT ns, k FROM replay WHERE expires_at <= ? LIMIT 256)',
      ),
      counter: db.prepare(
        'INSERT INTO counters (ns, k, value) VALUES (?, ?, ?) ON CONFLICT (ns, k) DO UPDATE SET value = excluded.value WHERE excluded.value > counters.value',
      ),
      get: db.prepare('SELECT * FROM otp_credentials WHERE id = ?'),
      create: db.prepare(
        'INSERT OR IGNORE INTO otp_credentials (id, type, algorithm, digits, period, sealed_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      success: db.prepare(
        'UPDATE otp_credentials SET last = ?, drift = ?, failures = 0, locked_until = 0 WHERE id = ? AND last < ?',
      ),
      // The lockout rule (docs/stores.md): a success without an admission needs the credential unlocked and
      // below the failure threshold, in the same statement that checks the remembered record.
      successIf: db.prepare(
        `UPDATE otp_credentials SET last = ?, drift = ?, failures = 0, locked_until = 0
         WHERE id = ? AND last = ? AND drift = ? AND sealed_secret = ? AND locked_until <= ? AND failures < ?
           AND last < ?`,
      ),
      // The admission: counts the attempt as a failure (locking at the threshold) before its code is evaluated.
      admit: db.prepare(
        `UPDATE otp_credentials SET failures = failures + 1,
           locked_until = CASE WHEN failures + 1 >= @max
             THEN @floorNow + min(@maxDelay, @base * (1 << min(failures + 1 - @max, 30))) ELSE locked_until END
         WHERE id = @id AND locked_until <= @now AND digits = @digits RETURNING *`,
      ),
      why: db.prepare('SELECT locked_until, digits FROM otp_credentials WHERE id = ?'),
      del: db.prepare('DELETE FROM otp_credentials WHERE id = ?'),
      list: db.prepare('SELECT id FROM otp_credentials ORDER BY id LIMIT ?'),
      unlock: db.prepare('UPDATE otp_credentials SET failures = 0, locked_until = 0 WHERE id = ?'),
    };
    this.#attemptMany = db.transaction((batch: Pending[]) => batch.map((b) => this.#attemptIn(b)));
    this.#admitTx = db.transaction((p: AdmitParams) => this.#admitIn(p));
    // The replay check and insert must be one unit: another process may insert between them.
    this.#consume = db.transaction((ns: string, k: string, exp: number, now: number) => {
      this.#s.replayDelExpired.run(ns, k, now);
      return this.#s.replayInsert.run(ns, k, exp).changes === 1;
    });
  }

  // SQLITE_BUSY after busy_timeout, a full disk or a removed file: one typed error, the transaction rolled back.
  #run<T>(op: () => T): T {
    try {
      return op();
    } catch (e) {
      throw new StoreUnavailableError(`SQLite store operation failed: ${(e as Error).message}`, { cause: e });
    }
  }

  readonly #attemptMany: Database.Transaction<(batch: Pending[]) => AttemptAnswer[]>;
  readonly #admitTx: Database.Transaction<(p: AdmitParams) => OtpAttempt>;

  readonly #consume: Database.Transaction<(ns: string, k: string, exp: number, now: number) => boolean>;

  async consumeOnce(namespace: string, key: string, expiresAt: number): Promise<boolean> {
    const now = this.#clock();
    // Lazy pruning: a bounded batch every 256 calls keeps the table small without a timer.
    if (++this.#ops % 256 === 0) this.#run(() => this.#s.replayPruneNoRowid.run(now));
    return this.#run(() => this.#consume.immediate(namespace, key, expiresAt, now));
  }

  async advanceCounter(namespace: string, key: string, value: number): Promise<boolean> {
    return this.#run(() => this.#s.counter.run(namespace, key, value)).changes === 1;
  }

  async getCredential(id: string): Promise<OtpCredentialRecord | undefined> {
    const r = this.#run(() => this.#s.get.get(id)) as Row | undefined;
    return r === undefined ? undefined : toRecord(r);
  }

  async createCredential(c: NewOtpCredential): Promise<boolean> {
    return (
      this.#run(() =>
        this.#s.create.run(c.id, c.type, c.algorithm, c.digits, c.period, c.sealedSecret, c.createdAt),
      ).changes === 1
    );
  }

  async recordSuccess(id: string, last: number, drift: number): Promise<boolean> {
    return this.#run(() => this.#s.success.run(last, drift, id, last)).changes === 1;
  }

  // Inside a transaction (or as the first, autocommitted try): admit, or say why not from the same snapshot.
  #admitIn(p: AdmitParams): OtpAttempt {
    const row = this.#s.admit.get(p) as Row | undefined;
    if (row !== undefined) return { status: 'admitted', record: toRecord(row) };
    const why = this.#s.why.get(p.id) as { locked_until: number; digits: number } | undefined;
    if (why === undefined) return { status: 'unknown' };
    if (why.locked_until > p.now) return { status: 'locked', lockedUntil: why.locked_until };
    return { status: 'format', digits: why.digits };
  }

  #attemptAlone(b: Pending): AttemptAnswer {
    if (b.accept !== undefined && this.#s.successIf.run(b.accept).changes === 1) return ACCEPTED;
    const p = admitParams(b.id, b.attempt);
    const row = this.#s.admit.get(p) as Row | undefined;
    return row !== undefined ? { status: 'admitted', record: toRecord(row) } : this.#admitTx.immediate(p);
  }

  #attemptIn(b: Pending): AttemptAnswer {
    if (b.accept !== undefined && this.#s.successIf.run(b.accept).changes === 1) return ACCEPTED;
    return this.#admitIn(admitParams(b.id, b.attempt));
  }

  /*
   * Group commit: the attempts (admissions and conditional successes) issued while the event loop runs one
   * batch of callbacks (many verifies in flight) share one IMMEDIATE transaction, so they pay for one commit
   * instead of one each. They run in the order they were issued, each checked against the rows as the
   * earlier ones left them, and no promise resolves before the transaction holding its write has committed.
   * A lone attempt runs as a single statement when it succeeds at once; when it does not, the reason is read
   * in a transaction with a second try, so the answer always comes from one consistent state.
   */
  #batch: Pending[] = [];
  readonly #flushBatch = (): void => {
    const batch = this.#batch;
    this.#batch = [];
    let results: AttemptAnswer[];
    try {
      results =
        batch.length === 1 ? [this.#attemptAlone(batch[0] as Pending)] : this.#attemptMany.immediate(batch);
    } catch (e) {
      const err = new StoreUnavailableError(`SQLite store operation failed: ${(e as Error).message}`, {
        cause: e,
      });
      for (const b of batch) b.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(results[i] as AttemptAnswer);
  };

  #enqueue(id: string, attempt: OtpAttemptInput, accept?: AcceptParams): Promise<AttemptAnswer> {
    return new Promise((resolve, reject) => {
      if (this.#batch.push({ id, attempt, accept, resolve, reject }) === 1) queueMicrotask(this.#flushBatch);
    });
  }

  admitAttempt(id: string, attempt: OtpAttemptInput): Promise<OtpAttempt> {
    return this.#enqueue(id, attempt) as Promise<OtpAttempt>;
  }

  acceptIfUnchanged(
    id: string,
    attempt: OtpAttemptInput,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    last: number,
    drift: number,
  ): Promise<AttemptAnswer> {
    const a: AcceptParams = [
      last,
      drift,
      id,
      expected.last,
      expected.drift,
      expected.sealedSecret,
      attempt.now,
      attempt.policy.maxFailures,
      last,
    ];
    return this.#enqueue(id, attempt, a);
  }

  async deleteCredential(id: string): Promise<boolean> {
    return this.#run(() => this.#s.del.run(id)).changes === 1;
  }

  async listCredentialIds(limit: number): Promise<string[]> {
    return (this.#run(() => this.#s.list.all(limit)) as { id: string }[]).map((r) => r.id);
  }

  async unlockCredential(id: string): Promise<boolean> {
    return this.#run(() => this.#s.unlock.run(id)).changes === 1;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
