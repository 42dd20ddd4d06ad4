import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ClientRegistryError } from '../errors/server.js';

/** A registered client (service account): its public keys are the only ones its assertions may use. */
export interface ClientRecord {
  id: string;
  disabled: boolean;
  createdAt: number;
  keys: Record<string, unknown>[];
}

export interface IssuedTokenRecord {
  jti: string;
  clientId: string;
  sub: string;
  exp: number;
  listId: string;
  idx: number;
  revoked: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS client_keys (client_id TEXT NOT NULL REFERENCES clients(id), kid TEXT NOT NULL, jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (client_id, kid));
CREATE TABLE IF NOT EXISTS issued_tokens (jti TEXT PRIMARY KEY, client_id TEXT NOT NULL, sub TEXT NOT NULL, exp INTEGER NOT NULL,
  list_id TEXT NOT NULL, idx INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS issued_tokens_list ON issued_tokens(list_id, revoked);
CREATE TABLE IF NOT EXISTS status_lists (id TEXT PRIMARY KEY, bits INTEGER NOT NULL, size INTEGER NOT NULL, next_idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen_jti (ns TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL, PRIMARY KEY (ns, jti));
CREATE INDEX IF NOT EXISTS seen_jti_exp ON seen_jti(exp);
`;

/** The authority's SQLite database (WAL): clients, client keys, issued tokens, revocations, list slots, seen jti. */
export class AuthorityDb {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    if (file !== ':memory:') {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      // created 0600 before SQLite opens it; the -wal and -shm files inherit the mode
      closeSync(openSync(file, 'a', 0o600));
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const d = this.db;
    this.stmts = {
      getClient: d.prepare('SELECT id, disabled, created_at FROM clients WHERE id = ?'),
      authKeys: d.prepare('SELECT kid, jwk FROM client_keys WHERE client_id = ?'),
      clientKeys: d.prepare('SELECT jwk FROM client_keys WHERE client_id = ? ORDER BY created_at, kid'),
      insertClient: d.prepare('INSERT INTO clients (id, disabled, created_at) VALUES (?, 0, ?)'),
      insertKey: d.prepare('INSERT INTO client_keys (client_id, kid, jwk, created_at) VALUES (?, ?, ?, ?)'),
      deleteKey: d.prepare('DELETE FROM client_keys WHERE client_id = ? AND kid = ?'),
      setDisabled: d.prepare('UPDATE clients SET disabled = ? WHERE id = ?'),
      listClients: d.prepare('SELECT id, disabled, created_at FROM clients ORDER BY id'),
      seen: d.prepare('INSERT OR IGNORE INTO seen_jti (ns, jti, exp) VALUES (?, ?, ?)'),
      seenExpired: d.prepare('DELETE FROM seen_jti WHERE ns = ? AND jti = ? AND exp <= ?'),
      purgeSeen: d.prepare('DELETE FROM seen_jti WHERE exp <= ?'),
      insertToken: d.prepare(
        'INSERT INTO issued_tokens (jti, client_id, sub, exp, list_id, idx) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getToken: d.prepare('SELECT * FROM issued_tokens WHERE jti = ?'),
      revoke: d.prepare('UPDATE issued_tokens SET revoked = 1 WHERE jti = ?'),
      revokedIdx: d.prepare('SELECT idx FROM issued_tokens WHERE list_id = ? AND revoked = 1'),
      currentList: d.prepare('SELECT * FROM status_lists WHERE next_idx < size ORDER BY rowid DESC LIMIT 1'),
      getList: d.prepare('SELECT * FROM status_lists WHERE id = ?'),
      insertList: d.prepare('INSERT INTO status_lists (id, bits, size, next_idx) VALUES (?, ?, ?, 0)'),
      bumpList: d.prepare('UPDATE status_lists SET next_idx = next_idx + 1 WHERE id = ?'),
      countLists: d.prepare('SELECT COUNT(*) AS n FROM status_lists'),
    };
  }

  close(): void {
    this.db.close();
  }

  getClient(id: string): ClientRecord | undefined {
    const row = this.stmts.getClient.get(id) as
      | { id: string; disabled: number; created_at: number }
      | undefined;
    if (!row) return undefined;
    const keys = (this.stmts.clientKeys.all(id) as { jwk: string }[]).map((r) => JSON.parse(r.jwk));
    return { id: row.id, disabled: row.disabled === 1, createdAt: row.created_at, keys };
  }

  /** The hot-path view for assertion checks: state plus the raw stored JWK text per kid. */
  getClientForAuth(id: string): { disabled: boolean; keys: { kid: string; jwk: string }[] } | undefined {
    const row = this.stmts.getClient.get(id) as { disabled: number } | undefined;
    if (!row) return undefined;
    return {
      disabled: row.disabled === 1,
      keys: this.stmts.authKeys.all(id) as { kid: string; jwk: string }[],
    };
  }

  listClients(): ClientRecord[] {
    return (this.stmts.listClients.all() as { id: string }[]).map((r) => this.getClient(r.id)!);
  }

  addClient(id: string, keys: Record<string, unknown>[], now: number): void {
    if (this.getClient(id)) throw new ClientRegistryError(`client ${id} already exists`);
    this.db.transaction(() => {
      this.stmts.insertClient.run(id, now);
      for (const k of keys) this.stmts.insertKey.run(id, k.kid, JSON.stringify(k), now);
    })();
  }

  addClientKey(id: string, jwk: Record<string, unknown>, now: number): void {
    if (!this.getClient(id)) throw new ClientRegistryError(`client ${id} does not exist`);
    try {
      this.stmts.insertKey.run(id, jwk.kid, JSON.stringify(jwk), now);
    } catch {
      throw new ClientRegistryError(`client ${id} already has a key with kid ${String(jwk.kid)}`);
    }
  }

  removeClientKey(id: string, kid: string): void {
    if (this.stmts.deleteKey.run(id, kid).changes === 0)
      throw new ClientRegistryError(`client ${id} has no key ${kid}`);
  }

  setClientDisabled(id: string, disabled: boolean): void {
    if (this.stmts.setDisabled.run(disabled ? 1 : 0, id).changes === 0)
      throw new ClientRegistryError(`client ${id} does not exist`);
  }

  /** Records a jti; false when it was already seen and has not yet expired (a replay). */
  consumeOnce(ns: string, jti: string, exp: number, now: number): boolean {
    if (this.stmts.seen.run(ns, jti, exp).changes === 1) return true;
    // an expired entry no longer protects anything (the assertion is rejected on exp first)
    if (this.stmts.seenExpired.run(ns, jti, now).changes === 1)
      return this.stmts.seen.run(ns, jti, exp).changes === 1;
    return false;
  }

  purgeSeen(now: number): void {
    this.stmts.purgeSeen.run(now);
  }

  /** Reserves the next status list slot, opening a new list when the current one is full. */
  allocateStatusSlot(bits: number, size: number): { listId: string; idx: number } {
    return this.db.transaction(() => {
      let row = this.stmts.currentList.get() as { id: string; next_idx: number } | undefined;
      if (!row) {
        const n = (this.stmts.countLists.get() as { n: number }).n;
        const id = String(n + 1);
        this.stmts.insertList.run(id, bits, size);
        row = { id, next_idx: 0 };
      }
      this.stmts.bumpList.run(row.id);
      return { listId: row.id, idx: row.next_idx };
    })();
  }

  recordToken(t: Omit<IssuedTokenRecord, 'revoked'>): void {
    this.stmts.insertToken.run(t.jti, t.clientId, t.sub, t.exp, t.listId, t.idx);
  }

  getToken(jti: string): IssuedTokenRecord | undefined {
    const r = this.stmts.getToken.get(jti) as
      | {
          jti: string;
          client_id: string;
          sub: string;
          exp: number;
          list_id: string;
          idx: number;
          revoked: number;
        }
      | undefined;
    if (!r) return undefined;
    return {
      jti: r.jti,
      clientId: r.client_id,
      sub: r.sub,
      exp: r.exp,
      listId: r.list_id,
      idx: r.idx,
      revoked: r.revoked === 1,
    };
  }

  revokeToken(jti: string): boolean {
    return this.stmts.revoke.run(jti).changes === 1;
  }

  getStatusList(id: string): { id: string; bits: number; size: number } | undefined {
    return this.stmts.getList.get(id) as { id: string; bits: number; size: number } | undefined;
  }

  revokedIndices(listId: string): number[] {
    return (this.stmts.revokedIdx.all(listId) as { idx: number }[]).map((r) => r.idx);
  }
}
