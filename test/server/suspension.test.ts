import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Authority } from '../../src/server/authority.js';
import { resolveConfig } from '../../src/server/config.js';
import { AuthorityDb } from '../../src/server/db.js';
import { checkStatusOffline, type Jwks, verifyStatusListToken } from '../../src/status-list/index.js';
import { signCompact } from '../../src/status-list/jws.js';
import { cli, ok, rejected } from '../cli/helpers.js';
import { addClient, assertion, post, startServer, type TestClient, type TestServer } from './helpers.js';

const BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLIENT_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

async function grant(s: TestServer, c: TestClient): Promise<string> {
  const r = await post(`${s.base}/token`, { grant_type: BEARER, assertion: assertion(c, `${s.base}/token`) });
  assert.equal(r.status, 200, r.text);
  return r.body.access_token as string;
}

/** The token's status as the list served now says: 0 valid, 1 revoked, 2 suspended. */
async function servedStatus(s: TestServer, token: string): Promise<number> {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as {
    status: { status_list: { idx: number; uri: string } };
  };
  const { idx, uri } = claims.status.status_list;
  const list = await (await fetch(uri)).text();
  const jwks = (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as Jwks;
  return verifyStatusListToken(list, { key: jwks, uri }).list.get(idx);
}

async function offlineCheck(s: TestServer, token: string): Promise<string> {
  const jwks = (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as Jwks;
  const list = await (await fetch(`${s.base}/status-lists/1`)).text();
  return code(() => checkStatusOffline(token, list, { key: jwks }));
}

async function introspect(s: TestServer, c: TestClient, token: string): Promise<boolean> {
  const r = await post(`${s.base}/introspect`, {
    token,
    client_assertion_type: CLIENT_ASSERTION,
    client_assertion: assertion(c, `${s.base}/introspect`),
  });
  assert.equal(r.status, 200, r.text);
  return r.body.active as boolean;
}

describe('token suspension (statusList.bits 2)', () => {
  let s: TestServer;
  let c: TestClient;
  let a: Authority;
  before(async () => {
    s = await startServer({ statusList: { bits: 2, size: 1024, ttl: 300 } });
    c = addClient(s, 'svc');
    a = s.app.authority;
  });
  after(() => s.close());

  it('suspend shows 0x02 in the next list, status check is ERR_TOKEN_SUSPENDED, resume makes it valid again', async () => {
    const token = await grant(s, c);
    assert.equal(await servedStatus(s, token), 0);
    assert.equal(await offlineCheck(s, token), 'no error');
    const r = a.suspend(token);
    assert.equal(r.status, 'suspended');
    assert.equal(r.changed, true);
    await a.db.settled();
    assert.equal(await servedStatus(s, token), 2);
    assert.equal(await offlineCheck(s, token), 'ERR_TOKEN_SUSPENDED');
    assert.equal(await introspect(s, c, token), false);
    // suspending twice changes nothing
    assert.equal(a.suspend(token).changed, false);
    const back = a.resume(token);
    assert.deepEqual([back.status, back.changed], ['valid', true]);
    await a.db.settled();
    assert.equal(await servedStatus(s, token), 0);
    assert.equal(await offlineCheck(s, token), 'no error');
    assert.equal(await introspect(s, c, token), true);
    assert.equal(a.resume(token).changed, false);
  });

  it('a revoked token cannot be resumed or suspended: revocation is final', async () => {
    const token = await grant(s, c);
    const rv = await post(`${s.base}/revoke`, {
      token,
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: assertion(c, `${s.base}/revoke`),
    });
    assert.equal(rv.status, 200, rv.text);
    assert.equal(
      code(() => a.resume(token)),
      'ERR_TOKEN_REVOKED',
    );
    assert.equal(
      code(() => a.suspend(token)),
      'ERR_TOKEN_REVOKED',
    );
    assert.equal(await servedStatus(s, token), 1);
  });

  it('revoking a suspended token makes it revoked for good', async () => {
    const token = await grant(s, c);
    a.suspend(token);
    const rv = await post(`${s.base}/revoke`, {
      token,
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: assertion(c, `${s.base}/revoke`),
    });
    assert.equal(rv.status, 200, rv.text);
    assert.equal(await servedStatus(s, token), 1);
    assert.equal(await offlineCheck(s, token), 'ERR_TOKEN_REVOKED');
    assert.equal(
      code(() => a.resume(token)),
      'ERR_TOKEN_REVOKED',
    );
  });

  it('refuses a token this authority did not sign, a malformed one, an expired one, and a foreign slot', async () => {
    const other = await startServer({ statusList: { bits: 2, size: 1024, ttl: 300 } });
    try {
      const foreign = await grant(other, addClient(other, 'svc'));
      assert.equal(
        code(() => a.suspend(foreign)),
        'ERR_JWKS_NO_MATCHING_KEY',
      );
    } finally {
      await other.close();
    }
    assert.equal(
      code(() => a.suspend('not.a.token')),
      'ERR_JOSE_HEADER_INVALID',
    );
    assert.equal(
      code(() => a.suspend('two.parts')),
      'ERR_JWS_INVALID',
    );
    assert.equal(
      code(() => a.suspend('x'.repeat(100_000))),
      'ERR_INPUT_TOO_LARGE',
    );
    const { kid, privateKey } = a.keyring.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const mint = (over: Record<string, unknown>) =>
      signCompact(
        { typ: 'at+jwt', kid },
        {
          iss: a.issuer,
          sub: 'x',
          jti: 'j',
          iat: now - 10,
          exp: now + 60,
          status: { status_list: { idx: 0, uri: a.statusListUri('1') } },
          ...over,
        },
        privateKey,
      );
    assert.equal(
      code(() => a.suspend(mint({ exp: now - 1 }))),
      'ERR_JWT_EXPIRED',
    );
    for (const status of [
      undefined,
      { status_list: { idx: 0, uri: a.statusListUri('99') } },
      { status_list: { idx: 1024, uri: a.statusListUri('1') } },
      { status_list: { idx: -1, uri: a.statusListUri('1') } },
      { status_list: { idx: 0, uri: 'https://elsewhere.example/status-lists/1' } },
    ])
      assert.equal(
        code(() => a.suspend(mint({ status }))),
        'ERR_STATUS_LIST_MISMATCH',
        JSON.stringify(status),
      );
  });
});

describe('token suspension (statusList.bits 1)', () => {
  it('is refused with ERR_SUSPENSION_UNSUPPORTED naming statusList.bits: 2', async () => {
    const s = await startServer();
    try {
      const token = await grant(s, addClient(s, 'svc'));
      assert.throws(() => s.app.authority.suspend(token), {
        code: 'ERR_SUSPENSION_UNSUPPORTED',
        message: /statusList\.bits: 2/,
      });
      assert.equal(await servedStatus(s, token), 0);
    } finally {
      await s.close();
    }
  });
});

describe('switching statusList.bits from 1 to 2', () => {
  it('puts the next tokens on a new 2-bit list, which can be suspended; the earlier ones cannot', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const open = (bits: 1 | 2) =>
      new Authority(
        resolveConfig({ dataDir, port: 0, logLevel: 'silent', statusList: { bits, size: 1024, ttl: 300 } }),
      );
    const one = open(1);
    const early = one.issue({ clientId: 'svc', sub: 'svc', aud: 'api' }).token;
    await one.db.settled();
    one.close();
    const two = open(2);
    try {
      const late = two.issue({ clientId: 'svc', sub: 'svc', aud: 'api' }).token;
      assert.equal(two.suspend(late).listId, '2');
      assert.equal(
        code(() => two.suspend(early)),
        'ERR_SUSPENSION_UNSUPPORTED',
      );
      await two.db.settled();
    } finally {
      two.close();
    }
  });
});

describe('CLI: status suspend / status resume', () => {
  let s: TestServer;
  let c: TestClient;
  before(async () => {
    s = await startServer({ statusList: { bits: 2, size: 1024, ttl: 300 } });
    c = addClient(s, 'svc');
  });
  after(() => s.close());

  it('suspends and resumes a token in the data dir; the running server serves each change at once', async () => {
    const token = await grant(s, c);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const listFile = path.join(dir, 'list.jwt');
    const check = async () => {
      writeFileSync(listFile, await (await fetch(`${s.base}/status-lists/1`)).text());
      return cli(['status', 'check', token, '--list', listFile, '--data-dir', s.dataDir]);
    };
    // the list is signed and cached before the change
    ok(await check());
    const out = JSON.parse(ok(cli(['status', 'suspend', token, '--data-dir', s.dataDir, '--json'])));
    assert.equal(out.status, 'suspended');
    assert.equal(out.changed, true);
    rejected(await check(), 'ERR_TOKEN_SUSPENDED');
    assert.match(
      ok(cli(['status', 'suspend', '--data-dir', s.dataDir], { input: token })),
      /^already suspended/,
    );
    assert.match(ok(cli(['status', 'resume', token, '--data-dir', s.dataDir])), /^valid \(status 0x00\)/);
    assert.match(ok(await check()), /^valid/);
  });

  it('a revoked token cannot be resumed from the CLI', async () => {
    const token = await grant(s, c);
    await post(`${s.base}/revoke`, {
      token,
      client_assertion_type: CLIENT_ASSERTION,
      client_assertion: assertion(c, `${s.base}/revoke`),
    });
    rejected(cli(['status', 'resume', token, '--data-dir', s.dataDir]), 'ERR_TOKEN_REVOKED');
  });

  it('a data dir without an authority is a usage error, and no authority is created there', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const r = cli(['status', 'suspend', 'a.b.c', '--data-dir', empty]);
    rejected(r, 'ERR_USAGE', 2);
    assert.match(r.stderr, /no authority \(no keyring\.json\)/);
    assert.deepEqual(readdirSync(empty), []);
  });

  it('a token from elsewhere is refused with its JOSE code', () => {
    rejected(cli(['status', 'suspend', 'not.a.token', '--data-dir', s.dataDir]), 'ERR_JOSE_HEADER_INVALID');
  });
});

describe('authority.db from before suspension', () => {
  it('gains the status column; its revocations stay revocations and suspension works', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const file = path.join(dataDir, 'authority.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE revoked (list_id TEXT NOT NULL, idx INTEGER NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL,
      revoked_at INTEGER NOT NULL, PRIMARY KEY (list_id, idx)) WITHOUT ROWID;
      CREATE TABLE status_lists (id TEXT PRIMARY KEY, bits INTEGER NOT NULL, size INTEGER NOT NULL, next_idx INTEGER NOT NULL);
      INSERT INTO status_lists VALUES ('1', 2, 1024, 256);
      INSERT INTO revoked VALUES ('1', 5, 'j5', 9999999999, 1);`);
    old.close();
    const db = new AuthorityDb(file);
    try {
      assert.equal(db.statusOf('1', 5), 1);
      assert.deepEqual(db.statuses('1'), [{ idx: 5, status: 1 }]);
      assert.equal(db.resume('1', 5), false);
      assert.equal(db.suspend({ listId: '1', idx: 6, jti: 'j6', exp: 9999999999 }, 1), true);
      assert.equal(db.statusOf('1', 6), 2);
      assert.equal(db.revoke({ listId: '1', idx: 6, jti: 'j6', exp: 9999999999 }, 2), true);
      assert.equal(db.statusOf('1', 6), 1);
    } finally {
      db.close();
    }
    // opening again finds the column and keeps the rows
    const again = new AuthorityDb(file);
    assert.deepEqual(again.statuses('1'), [
      { idx: 5, status: 1 },
      { idx: 6, status: 1 },
    ]);
    again.close();
  });
});
