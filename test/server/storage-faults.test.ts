import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { OtpValidator } from '../../src/otp/validator.js';
import { buildServer } from '../../src/server/app.js';
import { Authority } from '../../src/server/authority.js';
import { resolveConfig } from '../../src/server/config.js';
import { decodeCompact } from '../../src/status-list/jws.js';
import { StatusList } from '../../src/status-list/list.js';
import { verifyStatusListToken } from '../../src/status-list/token.js';
import { cli, rejected } from '../cli/helpers.js';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  startServer,
  type TestClient,
  type TestServer,
} from './helpers.js';

const ROOT = process.getuid?.() === 0;

/** Mounts a tmpfs of `size` on a fresh directory; undefined when not root or mounting is not permitted. */
function mountTmpfs(size: string): string | undefined {
  if (!ROOT) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  if (r.status === 0) return dir;
  rmdirSync(dir);
  return undefined;
}

function umount(dir: string): void {
  spawnSync('umount', [dir]);
  rmdirSync(dir);
}

const probe = mountTmpfs('1m');
if (probe) umount(probe);
const NO_TMPFS = probe
  ? false
  : 'needs root and permission to mount a tmpfs (run the tests as root, e.g. in a VM or a privileged container)';

/** Writes a filler file until the file system is full (ENOSPC), in ever smaller pieces. */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  for (const n of [chunk.length, 4096, 512, 1]) {
    for (;;) {
      try {
        writeSync(fd, chunk, 0, n);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOSPC') break;
        throw e;
      }
    }
  }
  closeSync(fd);
  return file;
}

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

async function postForm(url: string, params: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {}
  return { status: res.status, text, body };
}

function grant(s: TestServer, c: TestClient): Promise<Answer> {
  return postForm(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: assertion(c, `${s.base}/token`) });
}

function clientAuth(s: TestServer, c: TestClient, endpoint: string): Record<string, string> {
  return {
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion(c, `${s.base}${endpoint}`),
  };
}

/** `n` grants, `width` at a time; every answer is returned. */
async function grants(s: TestServer, c: TestClient, n: number, width = 16): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i += width)
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, () => grant(s, c)))));
  return out;
}

/** The one answer a storage fault may get: 503 with exactly `{ error, error_description }`, no SQLite text. */
function assertTemporarilyUnavailable(a: Answer): void {
  assert.equal(a.status, 503, a.text);
  assert.deepEqual(Object.keys(a.body).sort(), ['error', 'error_description'], a.text);
  assert.equal(a.body.error, 'temporarily_unavailable');
  assert.doesNotMatch(a.text, /SQLITE|sqlite|statusCode|ENOSPC|EROFS|disk|\/tmp\//);
}

function slotOf(token: string): string {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as {
    status: { status_list: { idx: number; uri: string } };
  };
  return `${claims.status.status_list.uri}#${claims.status.status_list.idx}`;
}

/** Collects the server's log lines (pino JSON). */
function logSink(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a full disk under load (tmpfs)', { skip: NO_TMPFS }, () => {
  let mnt: string;
  let s: TestServer;
  let svc: TestClient;
  let other: TestClient;
  before(async () => {
    mnt = mountTmpfs('16m') as string;
    s = await startServer({ dataDir: path.join(mnt, 'data') });
    svc = addClient(s, 'svc');
    other = addClient(s, 'other');
    await (s.app as unknown as { otpValidator: OtpValidator }).otpValidator.enroll({ id: 'alice-phone' });
  });
  after(async () => {
    await s?.close();
    if (mnt) umount(mnt);
  });

  it('a failed commit drops its status slot reservation: no slot is shared, revoking one token leaves the others active', async () => {
    const delivered: string[] = [];
    const keep = (answers: Answer[]) => {
      for (const a of answers) if (a.status === 200) delivered.push(a.body.access_token as string);
    };
    const before = await grants(s, svc, 100);
    assert.ok(before.every((a) => a.status === 200));
    keep(before);
    // the disk fills while grants are in flight, stays full for a few hundred more, then space comes back
    const inFlight = grants(s, svc, 64);
    await new Promise((r) => setImmediate(r));
    const filler = fill(mnt);
    const duringFull = [...(await inFlight), ...(await grants(s, svc, 300))];
    keep(duringFull.filter((a) => a.status === 200));
    const failed = duringFull.filter((a) => a.status !== 200);
    assert.ok(failed.length > 250, `only ${failed.length} grants failed on a full disk`);
    for (const a of failed) assertTemporarilyUnavailable(a);
    // an error answer (another client's token at /revoke) whose request wrote a jti that cannot be committed
    const foreign = delivered[0] as string;
    const refused = await postForm(`${s.base}/revoke`, {
      token: foreign,
      ...clientAuth(s, other, '/revoke'),
    });
    assertTemporarilyUnavailable(refused);
    // the OTP store (store.db on the same disk) cannot record the attempt: the same answer, no SQLite text
    const otp = await postForm(`${s.base}/otp/verify`, {
      credential_id: 'alice-phone',
      code: '000000',
      ...clientAuth(s, svc, '/otp/verify'),
    });
    assertTemporarilyUnavailable(otp);
    // the CLI writing beside the server: a typed storage fault, not a duplicate kid or ERR_INTERNAL
    const jwksFile = path.join(os.tmpdir(), `offtoken-jwks-${process.pid}.json`);
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })] }),
    );
    const dataDir = path.join(mnt, 'data');
    rejected(
      cli(['clients', 'keys', 'add', '--id', 'svc', '--jwks', jwksFile, '--data-dir', dataDir]),
      'ERR_STORE_UNAVAILABLE',
    );
    rejected(
      cli(['clients', 'add', '--id', 'late', '--jwks', jwksFile, '--data-dir', dataDir]),
      'ERR_STORE_UNAVAILABLE',
    );
    unlinkSync(jwksFile);
    unlinkSync(filler);
    const afterFree = await grants(s, svc, 800);
    assert.ok(
      afterFree.every((a) => a.status === 200),
      'grants succeed once space is back',
    );
    keep(afterFree);

    const slots = new Map<string, number>();
    for (const t of delivered) slots.set(slotOf(t), (slots.get(slotOf(t)) ?? 0) + 1);
    const shared = [...slots].filter(([, n]) => n > 1).map(([slot]) => slot);
    assert.deepEqual(shared, [], `${shared.length} status slots were given to two tokens`);

    // revoke every 40th token; every other token stays active, online and in the published status list
    const revoked = new Set(delivered.filter((_, i) => i % 40 === 0));
    for (const t of revoked) {
      const r = await postForm(`${s.base}/revoke`, { token: t, ...clientAuth(s, svc, '/revoke') });
      assert.equal(r.status, 200, r.text);
    }
    const jwks = (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const lists = new Map<string, ReturnType<typeof verifyStatusListToken>>();
    for (const t of delivered) {
      const [uri, idx] = slotOf(t).split('#') as [string, string];
      if (!lists.has(uri))
        lists.set(uri, verifyStatusListToken(await (await fetch(uri)).text(), { key: jwks }));
      assert.equal(lists.get(uri)?.list.get(Number(idx)), revoked.has(t) ? 1 : 0, `token at ${uri}#${idx}`);
    }
    for (const t of delivered.filter((x) => !revoked.has(x)).slice(-20)) {
      const r = await postForm(`${s.base}/introspect`, { token: t, ...clientAuth(s, svc, '/introspect') });
      assert.equal(r.body.active, true, `a token revoked by another's revocation: ${slotOf(t)}`);
    }
  });
});

describe('the database deleted or replaced under a running server', () => {
  it('writes answer 503 temporarily_unavailable and the loss is logged at error level', async () => {
    const log = logSink();
    const s = await startServer({ logLevel: 'error' }, { logStream: log.stream });
    try {
      const svc = addClient(s, 'svc');
      const ok = await grant(s, svc);
      assert.equal(ok.status, 200, ok.text);
      unlinkSync(path.join(s.dataDir, 'authority.db'));
      assertTemporarilyUnavailable(await grant(s, svc));
      assertTemporarilyUnavailable(
        await postForm(`${s.base}/revoke`, {
          token: ok.body.access_token as string,
          ...clientAuth(s, svc, '/revoke'),
        }),
      );
      await until(
        () =>
          log.lines.some((l) => l.level === 50 && l.msg === 'authority database lost; writes are refused'),
        'the error log line of the watch',
      );
      assert.ok(log.lines.some((l) => l.level === 50 && l.code === 'ERR_STORE_UNAVAILABLE'));
    } finally {
      await s.close();
    }
  });

  it('a database file replaced by another one (new inode) is refused the same way', async () => {
    const s = await startServer();
    try {
      const svc = addClient(s, 'svc');
      assert.equal((await grant(s, svc)).status, 200);
      const db = path.join(s.dataDir, 'authority.db');
      copyFileSync(db, `${db}.copy`);
      renameSync(`${db}.copy`, db);
      assertTemporarilyUnavailable(await grant(s, svc));
    } finally {
      await s.close();
    }
  });

  it('a restart and the CLI refuse a data dir whose database is gone instead of creating an empty one', async () => {
    const s = await startServer();
    const dataDir = s.dataDir;
    await s.close();
    unlinkSync(path.join(dataDir, 'authority.db'));
    await assert.rejects(
      buildServer(resolveConfig({ dataDir, port: 0, logLevel: 'silent' })),
      (e: { code?: string; message?: string }) =>
        e.code === 'ERR_STORE_UNAVAILABLE' && /keyring\.json/.test(e.message ?? ''),
    );
    const jwks = path.join(dataDir, '..', `${path.basename(dataDir)}-jwks.json`);
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
    rejected(
      cli(['clients', 'add', '--id', 'late', '--jwks', jwks, '--data-dir', dataDir]),
      'ERR_STORE_UNAVAILABLE',
    );
    assert.equal(existsSync(path.join(dataDir, 'authority.db')), false, 'no fresh database was created');
  });
});

describe('a read-only authority.db', () => {
  it('at start: ERR_STORE_UNAVAILABLE from the server and the CLI, not ERR_INTERNAL with a raw errno', async (t) => {
    let mnt: string | undefined;
    let dataDir: string;
    if (ROOT) {
      // root ignores file modes: only a read-only file system makes the file read-only
      mnt = mountTmpfs('8m');
      if (!mnt) return t.skip(NO_TMPFS as string);
      dataDir = path.join(mnt, 'data');
    } else dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'offtoken-')), 'data');
    try {
      mkdirSync(dataDir, { mode: 0o700 });
      const first = await buildServer(resolveConfig({ dataDir, port: 0, logLevel: 'silent' }));
      await first.close();
      if (mnt) assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
      else chmodSync(path.join(dataDir, 'authority.db'), 0o444);
      await assert.rejects(buildServer(resolveConfig({ dataDir, port: 0, logLevel: 'silent' })), {
        code: 'ERR_STORE_UNAVAILABLE',
      });
      rejected(cli(['clients', 'list', '--data-dir', dataDir]), 'ERR_STORE_UNAVAILABLE');
    } finally {
      if (mnt) umount(mnt);
    }
  });
});

describe('a failed group commit (forced, no root needed)', () => {
  function authority(): Authority {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    return new Authority(resolveConfig({ dataDir, port: 0, logLevel: 'silent' }));
  }
  /** Makes the open batch's COMMIT fail: a foreign key violation deferred to commit time. */
  function sabotage(a: Authority): void {
    a.db.db.pragma('defer_foreign_keys = ON');
    a.db.db
      .prepare("INSERT INTO client_keys (client_id, kid, jwk, created_at) VALUES ('ghost', 'k', '{}', 0)")
      .run();
  }
  const now = () => Math.floor(Date.now() / 1000);

  it('the status slots reserved in it are never handed out again', async () => {
    const a = authority();
    try {
      a.db.consumeOnce('test', 'jti-1', now() + 60, now());
      const lost = a.issue({ clientId: 'c', sub: 'c', aud: 'https://rs.example' });
      sabotage(a);
      await assert.rejects(a.db.settled(), { code: 'ERR_STORE_UNAVAILABLE' });
      const seen = new Set<string>();
      for (let i = 0; i < 600; i++) {
        const slot = slotOf(a.issue({ clientId: 'c', sub: 'c', aud: 'https://rs.example' }).token);
        assert.equal(seen.has(slot), false, `slot ${slot} handed out twice`);
        seen.add(slot);
      }
      assert.ok(slotOf(lost.token));
    } finally {
      a.close();
    }
  });

  it('a status list signed with a revocation that was rolled back is not served afterwards', async () => {
    const a = authority();
    try {
      const claims = a.verifyOwnToken(
        a.issue({ clientId: 'c', sub: 'c', aud: 'https://rs.example' }).token,
      ) as Record<string, unknown>;
      await a.db.settled();
      const { uri, idx } = (claims.status as { status_list: { uri: string; idx: number } }).status_list;
      const listId = uri.slice(uri.lastIndexOf('/') + 1);
      const bit = (token: string) =>
        StatusList.decode(decodeCompact(token, 8 * 1024 * 1024).payload.status_list as never).get(idx);
      a.revoke(claims);
      assert.equal(bit(a.statusListToken(listId) as string), 1, 'the open batch sees its revocation');
      sabotage(a);
      await assert.rejects(a.db.settled(), { code: 'ERR_STORE_UNAVAILABLE' });
      assert.equal(a.isActive(claims), true);
      assert.equal(
        bit(a.statusListToken(listId) as string),
        0,
        'the rolled-back revocation is not published',
      );
    } finally {
      a.close();
    }
  });
});
