import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ClientRegistryError } from '../errors/server.js';
import { StoreUnavailableError } from '../errors/stores.js';
import { STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID } from '../status-list/list.js';

/** A registered client (service account): its public keys are the only ones its assertions may use. */
export interface ClientRecord {
  id: string;
  disabled: boolean;
  createdAt: number;
  keys: Record<string, unknown>[];
  /** What the client may obtain and introspect (docs/service.md "Scope and audience policy"). */
  policy: ClientPolicy;
}

/**
 * A client's registered allow-lists. `undefined` = never registered (a client from before the policy existed):
 * deny-by-default, the error names the flag that sets it. An empty list allows nothing.
 */
export interface ClientPolicy {
  /** Scope tokens the client may request (`clients add --scope`). */
  scopes?: string[];
  /** Scope tokens issued when a request names none (`--default-scope`, a subset of `scopes`). */
  defaultScopes?: string[];
  /** `audience`/`resource` values the client may request (`--audience`). */
  audiences?: string[];
  /** Audiences of tokens this client may introspect, as their resource server (`--resource-server`). */
  resourceServers?: string[];
}

const POLICY_COLUMNS = ['scopes', 'default_scopes', 'audiences', 'resource_servers'] as const;
type PolicyRow = Record<(typeof POLICY_COLUMNS)[number], string | null>;

function policyOf(row: PolicyRow): ClientPolicy {
  const list = (v: string | null) => (v === null ? undefined : (JSON.parse(v) as string[]));
  const p: ClientPolicy = {};
  const scopes = list(row.scopes);
  const defaultScopes = list(row.default_scopes);
  const audiences = list(row.audiences);
  const resourceServers = list(row.resource_servers);
  if (scopes) p.scopes = scopes;
  if (defaultScopes) p.defaultScopes = defaultScopes;
  if (audiences) p.audiences = audiences;
  if (resourceServers) p.resourceServers = resourceServers;
  return p;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
  scopes TEXT, default_scopes TEXT, audiences TEXT, resource_servers TEXT);
CREATE TABLE IF NOT EXISTS client_keys (client_id TEXT NOT NULL REFERENCES clients(id), kid TEXT NOT NULL, jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (client_id, kid));
CREATE TABLE IF NOT EXISTS revoked (list_id TEXT NOT NULL, idx INTEGER NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (list_id, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status_lists (id TEXT PRIMARY KEY, bits INTEGER NOT NULL, size INTEGER NOT NULL, next_idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen_jti (ns TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL, PRIMARY KEY (ns, jti)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_jti_exp ON seen_jti(exp);
`;

/** The authority's SQLite database (WAL): clients, client keys, revocations, status list slots, seen jti. */
export class AuthorityDb {
  readonly db: Database.Database;
  private readonly stmts;
  /** Device and inode of the file opened: SQLite keeps writing to a deleted file, so a change is checked. */
  private readonly identity: { dev: number; ino: number } | undefined;

  /**
   * `grouped`: the server's group commit (see `settled`); the CLI writes one autocommit statement at a time.
   * A data dir that holds the authority's keyring but no database lost its database (deleted, moved, a partial
   * restore): it is refused rather than silently replaced by an empty one that has forgotten every client and
   * revocation. Any failure to open (read-only file or file system, full disk, a corrupt file) is
   * `ERR_STORE_UNAVAILABLE`.
   */
  constructor(
    private readonly file: string,
    private readonly grouped = false,
  ) {
    try {
      if (file !== ':memory:') {
        const dir = path.dirname(file);
        if (!existsSync(file) && existsSync(path.join(dir, 'keyring.json')))
          throw new StoreUnavailableError(
            `the authority database ${file} is missing but ${dir} holds the authority's keyring.json: it was ` +
              'deleted or moved; restore it (a new empty database would forget every client and revocation), ' +
              'or remove keyring.json as well to start a new authority',
          );
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        // created 0600 before SQLite opens it; the -wal and -shm files inherit the mode
        closeSync(openSync(file, 'a', 0o600));
      }
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA);
      // authority.db files from before the scope/audience policy: add its columns (NULL = not registered, which
      // denies by default until `clients update` sets them)
      const have = new Set(
        (this.db.prepare('PRAGMA table_info(clients)').all() as { name: string }[]).map((c) => c.name),
      );
      for (const col of POLICY_COLUMNS)
        if (!have.has(col)) this.db.exec(`ALTER TABLE clients ADD COLUMN ${col} TEXT`);
      // authority.db files from before suspension: every row they hold is a revocation (status 0x01)
      const revokedCols = new Set(
        (this.db.prepare('PRAGMA table_info(revoked)').all() as { name: string }[]).map((c) => c.name),
      );
      if (!revokedCols.has('status'))
        this.db.exec('ALTER TABLE revoked ADD COLUMN status INTEGER NOT NULL DEFAULT 1');
      // data dirs from before revocations were keyed by status slot: carry their revocations over once
      const legacy = this.db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'issued_tokens'")
        .get();
      if (legacy)
        this.db.exec(`INSERT OR IGNORE INTO revoked (list_id, idx, jti, exp, revoked_at)
        SELECT list_id, idx, jti, exp, 0 FROM issued_tokens WHERE revoked = 1; DROP TABLE issued_tokens;`);
      if (file !== ':memory:') {
        const st = statSync(file);
        this.identity = { dev: st.dev, ino: st.ino };
      }
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      const code = (e as { code?: unknown }).code;
      throw new StoreUnavailableError(
        `cannot open the authority database ${file}${typeof code === 'string' ? ` (${code})` : ''}: check ` +
          'that the file and its directory are writable, the disk has space, and the file is an offtoken database',
        { cause: e },
      );
    }
    const d = this.db;
    this.stmts = {
      getClient: d.prepare(
        'SELECT id, disabled, created_at, scopes, default_scopes, audiences, resource_servers FROM clients WHERE id = ?',
      ),
      getPolicy: d.prepare(
        'SELECT scopes, default_scopes, audiences, resource_servers FROM clients WHERE id = ?',
      ),
      setPolicy: d.prepare(
        'UPDATE clients SET scopes = ?, default_scopes = ?, audiences = ?, resource_servers = ? WHERE id = ?',
      ),
      // one query for the hot path: the client's state and its keys (a client without keys yields one row)
      authView: d.prepare(
        'SELECT c.disabled, k.kid, k.jwk FROM clients c LEFT JOIN client_keys k ON k.client_id = c.id WHERE c.id = ?',
      ),
      clientKeys: d.prepare('SELECT jwk FROM client_keys WHERE client_id = ? ORDER BY created_at, kid'),
      insertClient: d.prepare('INSERT INTO clients (id, disabled, created_at) VALUES (?, 0, ?)'),
      insertKey: d.prepare('INSERT INTO client_keys (client_id, kid, jwk, created_at) VALUES (?, ?, ?, ?)'),
      deleteKey: d.prepare('DELETE FROM client_keys WHERE client_id = ? AND kid = ?'),
      setDisabled: d.prepare('UPDATE clients SET disabled = ? WHERE id = ?'),
      listClients: d.prepare('SELECT id, disabled, created_at FROM clients ORDER BY id'),
      seen: d.prepare('INSERT OR IGNORE INTO seen_jti (ns, jti, exp) VALUES (?, ?, ?)'),
      seenExpired: d.prepare('DELETE FROM seen_jti WHERE ns = ? AND jti = ? AND exp <= ?'),
      purgeSeen: d.prepare('DELETE FROM seen_jti WHERE exp <= ?'),
      // a suspended slot becomes revoked; a revoked one stays as it is (revoked_at of the first revocation)
      revoke: d.prepare(
        `INSERT INTO revoked (list_id, idx, jti, exp, revoked_at, status) VALUES (?, ?, ?, ?, ?, ${STATUS_INVALID})
         ON CONFLICT (list_id, idx) DO UPDATE SET status = ${STATUS_INVALID}, revoked_at = excluded.revoked_at
         WHERE status <> ${STATUS_INVALID}`,
      ),
      suspend: d.prepare(
        `INSERT OR IGNORE INTO revoked (list_id, idx, jti, exp, revoked_at, status) VALUES (?, ?, ?, ?, ?, ${STATUS_SUSPENDED})`,
      ),
      // only a suspension is lifted: revocation is final
      resume: d.prepare(`DELETE FROM revoked WHERE list_id = ? AND idx = ? AND status = ${STATUS_SUSPENDED}`),
      statusOf: d.prepare('SELECT status FROM revoked WHERE list_id = ? AND idx = ?').pluck(),
      isRevoked: d.prepare('SELECT 1 FROM revoked WHERE list_id = ? AND idx = ?').pluck(),
      statuses: d.prepare('SELECT idx, status FROM revoked WHERE list_id = ?'),
      // a list's bits are fixed when it opens: after statusList.bits changes, new tokens go to a new list (a
      // token issued after switching to 2 bits can then be suspended)
      currentList: d.prepare(
        'SELECT * FROM status_lists WHERE next_idx < size AND bits = ? ORDER BY rowid DESC LIMIT 1',
      ),
      getList: d.prepare('SELECT * FROM status_lists WHERE id = ?'),
      insertList: d.prepare('INSERT INTO status_lists (id, bits, size, next_idx) VALUES (?, ?, ?, 0)'),
      reserve: d.prepare('UPDATE status_lists SET next_idx = ? WHERE id = ?'),
      countLists: d.prepare('SELECT COUNT(*) AS n FROM status_lists'),
    };
  }

  close(): void {
    this.commitBatch();
    this.db.close();
  }

  /**
   * Group commit. The hot writes (a seen jti, a revocation) of every request handled in one turn of the event
   * loop go into one transaction, committed on `setImmediate`: one WAL commit for many grants instead of one
   * each. Nothing is lost by this: the server's onSend hook awaits `settled()`, so no response leaves before
   * the writes its request made are committed (a failed commit rolls them back and the response becomes a
   * server_error), and reads on this connection see the open transaction, so a jti replayed inside the same
   * batch is still caught by the primary key. Other processes (the CLI) wait on busy_timeout for one turn.
   */
  private batch:
    | {
        waiters: { resolve: () => void; reject: (e: unknown) => void }[];
        /** Undo in memory what the batch's rollback undoes on disk (a reserved status slot block). */
        onRollback: (() => void)[];
      }
    | undefined;

  private write(): void {
    if (this.batch || !this.grouped || this.db.inTransaction) return;
    this.assertFile();
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      throw storageFault('cannot start a write', e);
    }
    this.batch = { waiters: [], onRollback: [] };
    setImmediate(() => this.commitBatch());
  }

  private commitBatch(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = undefined;
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // SQLite rolls back on its own when it cannot; the connection is usable again either way
      }
      // before any waiter runs: nothing reserved by the rolled-back batch may be handed out again (issue 17)
      for (const undo of b.onRollback) undo();
      const fault = storageFault('a commit failed', e);
      for (const w of b.waiters) w.reject(fault);
      return;
    }
    for (const w of b.waiters) w.resolve();
  }

  /**
   * Undefined while the database file is the one opened; otherwise the fault. SQLite keeps writing to a file
   * deleted or replaced under it, into an inode nobody will open again: every write would be lost at restart.
   */
  fileFault(): StoreUnavailableError | undefined {
    if (!this.identity) return undefined;
    let st: { dev: number; ino: number } | undefined;
    try {
      st = statSync(this.file);
    } catch {
      st = undefined;
    }
    if (st && st.dev === this.identity.dev && st.ino === this.identity.ino) return undefined;
    return new StoreUnavailableError(
      `the authority database ${this.file} was ${st ? 'replaced' : 'deleted'} while the server was running; ` +
        'writes are refused: restore the file and restart the server',
    );
  }

  /**
   * Runs `undo` if the group commit carrying the writes made so far fails and rolls them back: state kept in
   * memory from those writes (a reserved slot block, a status list built with an uncommitted revocation) must
   * not outlive them. Nothing to do when no batch is open (the write was committed when it returned).
   */
  onRollback(undo: () => void): void {
    if (this.batch) this.batch.onRollback.push(undo);
  }

  private assertFile(): void {
    const fault = this.fileFault();
    if (fault) throw fault;
  }

  /** True while writes wait for the group commit. */
  get pending(): boolean {
    return this.batch !== undefined;
  }

  /** Resolves once every write made so far is committed (at once when none is pending). */
  settled(): Promise<void> {
    const b = this.batch;
    if (!b) return Promise.resolve();
    return new Promise((resolve, reject) => b.waiters.push({ resolve, reject }));
  }

  getClient(id: string): ClientRecord | undefined {
    const row = this.stmts.getClient.get(id) as
      | ({ id: string; disabled: number; created_at: number } & PolicyRow)
      | undefined;
    if (!row) return undefined;
    const keys = (this.stmts.clientKeys.all(id) as { jwk: string }[]).map((r) => JSON.parse(r.jwk));
    return {
      id: row.id,
      disabled: row.disabled === 1,
      createdAt: row.created_at,
      keys,
      policy: policyOf(row),
    };
  }

  /** The client's registered allow-lists; undefined for an unknown client. */
  getClientPolicy(id: string): ClientPolicy | undefined {
    const row = this.stmts.getPolicy.get(id) as PolicyRow | undefined;
    return row ? policyOf(row) : undefined;
  }

  /** Replaces the lists given in `p` (a key absent from `p` keeps its stored value). */
  updateClientPolicy(id: string, p: ClientPolicy): ClientPolicy {
    const cur = this.getClientPolicy(id);
    if (!cur) throw new ClientRegistryError(`client ${id} does not exist`);
    const next: ClientPolicy = { ...cur, ...p };
    const col = (v: string[] | undefined) => (v === undefined ? null : JSON.stringify(v));
    this.stmts.setPolicy.run(
      col(next.scopes),
      col(next.defaultScopes),
      col(next.audiences),
      col(next.resourceServers),
      id,
    );
    return next;
  }

  /** The hot-path view for assertion checks: state plus the raw stored JWK text per kid. */
  getClientForAuth(id: string): { disabled: boolean; keys: { kid: string; jwk: string }[] } | undefined {
    const rows = this.stmts.authView.all(id) as {
      disabled: number;
      kid: string | null;
      jwk: string | null;
    }[];
    if (rows.length === 0) return undefined;
    const keys: { kid: string; jwk: string }[] = [];
    for (const r of rows) if (r.kid !== null && r.jwk !== null) keys.push({ kid: r.kid, jwk: r.jwk });
    return { disabled: rows[0]!.disabled === 1, keys };
  }

  listClients(): ClientRecord[] {
    return (this.stmts.listClients.all() as { id: string }[]).map((r) => this.getClient(r.id)!);
  }

  addClient(id: string, keys: Record<string, unknown>[], now: number, policy: ClientPolicy = {}): void {
    if (this.getClient(id)) throw new ClientRegistryError(`client ${id} already exists`);
    try {
      this.db.transaction(() => {
        this.stmts.insertClient.run(id, now);
        for (const k of keys) this.stmts.insertKey.run(id, k.kid, JSON.stringify(k), now);
        this.updateClientPolicy(id, policy);
      })();
    } catch (e) {
      throw storageFault('cannot register the client', e);
    }
  }

  addClientKey(id: string, jwk: Record<string, unknown>, now: number): void {
    if (!this.getClient(id)) throw new ClientRegistryError(`client ${id} does not exist`);
    try {
      this.stmts.insertKey.run(id, jwk.kid, JSON.stringify(jwk), now);
    } catch (e) {
      // only the primary key says the kid is taken; a full disk or a read-only file is a storage fault
      if (String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT'))
        throw new ClientRegistryError(`client ${id} already has a key with kid ${String(jwk.kid)}`);
      throw storageFault('cannot add the key', e);
    }
  }

  removeClientKey(id: string, kid: string): void {
    let changes: number;
    try {
      changes = this.stmts.deleteKey.run(id, kid).changes;
    } catch (e) {
      throw storageFault('cannot remove the key', e);
    }
    if (changes === 0) throw new ClientRegistryError(`client ${id} has no key ${kid}`);
  }

  setClientDisabled(id: string, disabled: boolean): void {
    let changes: number;
    try {
      changes = this.stmts.setDisabled.run(disabled ? 1 : 0, id).changes;
    } catch (e) {
      throw storageFault('cannot change the client', e);
    }
    if (changes === 0) throw new ClientRegistryError(`client ${id} does not exist`);
  }

  /** Records a jti; false when it was already seen and has not yet expired (a replay). */
  consumeOnce(ns: string, jti: string, exp: number, now: number): boolean {
    this.write();
    if (this.stmts.seen.run(ns, jti, exp).changes === 1) return true;
    // an expired entry no longer protects anything (the assertion is rejected on exp first)
    if (this.stmts.seenExpired.run(ns, jti, now).changes === 1)
      return this.stmts.seen.run(ns, jti, exp).changes === 1;
    return false;
  }

  purgeSeen(now: number): void {
    this.stmts.purgeSeen.run(now);
  }

  /**
   * Reserves up to `block` consecutive slots of the current status list (opening a new list when it is full)
   * in one commit. The caller hands them out from memory, so an issued token costs no write of its own; slots
   * reserved but unused when the process stops are simply never used (a slot is a bit, never reused).
   */
  reserveStatusSlots(
    bits: number,
    size: number,
    block: number,
    dropped: () => void,
  ): { listId: string; start: number; end: number } {
    // inside a group-commit batch the reservation is durable only with the batch: `dropped` runs if that commit
    // fails, and the caller forgets the block (the rolled-back rows would hand the same slots out again)
    if (this.batch) this.onRollback(dropped);
    else if (this.grouped) this.assertFile();
    return this.db.transaction(() => {
      let row = this.stmts.currentList.get(bits) as
        | { id: string; next_idx: number; size: number }
        | undefined;
      if (!row) {
        const n = (this.stmts.countLists.get() as { n: number }).n;
        const id = String(n + 1);
        this.stmts.insertList.run(id, bits, size);
        row = { id, next_idx: 0, size };
      }
      const end = Math.min(row.size, row.next_idx + block);
      this.stmts.reserve.run(end, row.id);
      return { listId: row.id, start: row.next_idx, end };
    })();
  }

  /** Records a revocation by status slot (draft-ietf-oauth-status-list: the slot is what relying parties see). */
  revoke(r: { listId: string; idx: number; jti: string; exp: number }, now: number): boolean {
    this.write();
    return this.stmts.revoke.run(r.listId, r.idx, r.jti, r.exp, now).changes === 1;
  }

  /**
   * Suspends a slot (draft-ietf-oauth-status-list 7.1: status 0x02, temporarily invalid). True when it was
   * valid and is now suspended; false when it already was suspended or revoked (see `statusOf`).
   */
  suspend(r: { listId: string; idx: number; jti: string; exp: number }, now: number): boolean {
    this.write();
    return this.stmts.suspend.run(r.listId, r.idx, r.jti, r.exp, now).changes === 1;
  }

  /** Lifts a suspension: true when the slot was suspended and is valid again; a revoked slot stays revoked. */
  resume(listId: string, idx: number): boolean {
    this.write();
    return this.stmts.resume.run(listId, idx).changes === 1;
  }

  /** The slot's status value: 0x00 valid, 0x01 revoked, 0x02 suspended. */
  statusOf(listId: string, idx: number): number {
    return (this.stmts.statusOf.get(listId, idx) as number | undefined) ?? STATUS_VALID;
  }

  /** True when the slot is not valid: revoked, or suspended. */
  isRevoked(listId: string, idx: number): boolean {
    return this.stmts.isRevoked.get(listId, idx) !== undefined;
  }

  getStatusList(id: string): { id: string; bits: number; size: number } | undefined {
    return this.stmts.getList.get(id) as { id: string; bits: number; size: number } | undefined;
  }

  /** Every slot of the list that is not valid, with its status value (0x01 revoked, 0x02 suspended). */
  statuses(listId: string): { idx: number; status: number }[] {
    return this.stmts.statuses.all(listId) as { idx: number; status: number }[];
  }

  /**
   * SQLite's data_version: it changes when another connection (the CLI) commits to the file, so a server
   * holding state built from the database (a signed status list) knows to rebuild it.
   */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}

/** A SQLite failure as the one typed storage error; SQLite's own message stays in `cause` (the log). */
function storageFault(what: string, e: unknown): unknown {
  if (e instanceof StoreUnavailableError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
  return new StoreUnavailableError(`authority database: ${what} (${code})`, { cause: e });
}
