import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeBase64url } from '../../src/encoding/base64url.js';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { base32Decode } from '../../src/otp/index.js';
import { RedisStore, SqliteStore } from '../../src/stores/index.js';
import type { OfftokenStore } from '../../src/stores/types.js';
import { cliAsync, cli as runCli } from '../cli/helpers.js';
import { redisSkip, redisUrl } from '../stores/backends.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = runCli(args, { env });
  return { status: r.code, out: r.stdout, err: r.stderr };
}

function secretOf(uri: string): Buffer {
  return base32Decode(new URL(uri).searchParams.get('secret') as string);
}

function flow(store: string, env: Record<string, string>, id = 'alice') {
  const e = cli(['otp', 'enroll', '--store', store, '--id', id, '--type', 'hotp', '--issuer', 'ACME'], env);
  assert.equal(e.status, 0, e.err);
  const uri = e.out.trim().split('\n')[0] as string;
  assert.match(uri, new RegExp(`^otpauth://hotp/ACME%3A${id}\\?secret=`));
  const secret = secretOf(uri);
  const code = hotpBytes(secret, 0, 'SHA1', 6).toString();
  const ok = cli(['otp', 'verify', '--store', store, '--id', id, code], env);
  assert.equal(ok.status, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out), { id, ok: true, type: 'hotp', counter: 0, drift: 0 });
  const again = cli(['otp', 'verify', '--store', store, '--id', id, code], env);
  assert.equal(again.status, 1);
  assert.equal(JSON.parse(again.err).error.code, 'ERR_OTP_REPLAYED');
  const fmt = cli(['otp', 'verify', '--store', store, '--id', id, '12ab56'], env);
  assert.equal(fmt.status, 1);
  assert.equal(JSON.parse(fmt.err).error.code, 'ERR_OTP_FORMAT');
  const unk = cli(['otp', 'verify', '--store', store, '--id', 'bob', '123456'], env);
  assert.equal(JSON.parse(unk.err).error.code, 'ERR_OTP_UNKNOWN_CREDENTIAL');
  const dup = cli(['otp', 'enroll', '--store', store, '--id', id], env);
  assert.equal(JSON.parse(dup.err).error.code, 'ERR_OTP_CREDENTIAL_EXISTS');
}

/*
 * Issue 9 item 2 through the CLI: 4 processes at a time, 10 rounds, each process one `otp verify` of a wrong
 * code (a fresh validator each, so every attempt reads the store). At most 5 are evaluated; the right code
 * sent after them is refused while the lock lasts.
 */
async function burst(storeUrl: string, open: () => Promise<OfftokenStore>, env: Record<string, string>) {
  const id = `lock-${randomBytes(4).toString('hex')}`;
  const e = cli(['otp', 'enroll', '--store', storeUrl, '--id', id, '--type', 'hotp'], env);
  assert.equal(e.status, 0, e.err);
  const secret = secretOf(e.out.trim());
  const right = hotpBytes(secret, 0, 'SHA1', 6).toString();
  const near = new Set(Array.from({ length: 11 }, (_, c) => hotpBytes(secret, c, 'SHA1', 6).toString()));
  const wrong = Array.from({ length: 60 }, (_, i) => String(200_000 + i * 7919)).filter((c) => !near.has(c));
  // one instant for every run, so the 30 s lock cannot expire while 41 processes start on a busy machine
  const now = String(Math.floor(Date.now() / 1000));
  const codes: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; i < 10; i++) {
        const r = await cliAsync(
          ['otp', 'verify', '--store', storeUrl, '--id', id, '--now', now, wrong[p * 10 + i] as string],
          {
            env,
          },
        );
        assert.equal(r.code, 1, r.stdout + r.stderr);
        codes.push(JSON.parse(r.stderr.trim().split('\n').pop() as string).error.code);
      }
    }),
  );
  const tally: Record<string, number> = {};
  for (const c of codes) tally[c] = (tally[c] ?? 0) + 1;
  assert.deepEqual(tally, { ERR_OTP_INVALID: 5, ERR_OTP_LOCKED: 35 });
  const last = cli(['otp', 'verify', '--store', storeUrl, '--id', id, '--now', now, right], env);
  assert.equal(last.status, 1);
  assert.equal(JSON.parse(last.err).error.code, 'ERR_OTP_LOCKED');
  const store = await open();
  try {
    const rec = await store.getCredential(id);
    assert.equal(rec?.failures, 5);
    assert.equal(rec?.last, -1);
    await store.deleteCredential(id);
  } finally {
    await store.close();
  }
}

describe('offtoken otp verify: 4 processes x 10 wrong codes', () => {
  it('sqlite: at most 5 evaluated, the right code after them refused', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'lock.db');
    await burst(`sqlite:${db}`, async () => new SqliteStore(db), {});
  });

  it('redis: at most 5 evaluated, the right code after them refused', { skip: redisSkip }, async () => {
    await burst(redisUrl as string, () => RedisStore.connect(redisUrl as string), {
      OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)),
    });
  });
});

describe('offtoken otp enroll / verify', () => {
  it('sqlite: enrol, accept once, reject replay / format / unknown', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 's.db');
    flow(`sqlite:${db}`, {});
  });

  it('TOTP with --now', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 't.db');
    const e = cli(['otp', 'enroll', '--store', `sqlite:${db}`, '--id', 'x']);
    const secret = secretOf(e.out.trim());
    const code = hotpBytes(secret, Math.floor(1_800_000_000 / 30), 'SHA1', 6).toString();
    const r = cli(['otp', 'verify', '--store', `sqlite:${db}`, '--id', 'x', '--now', '1800000000', code]);
    assert.equal(r.status, 0, r.err);
    assert.equal(JSON.parse(r.out).step, 60_000_000);
  });

  it('redis: same flow with OFFTOKEN_STORE_KEY', { skip: redisSkip }, async () => {
    const prefixDb = redisUrl as string;
    // the CLI uses the default key prefix: an id of this run's own, so that runs side by side do not collide;
    // clean its one credential up afterwards
    const id = `alice-${randomBytes(6).toString('hex')}`;
    const store = await RedisStore.connect(prefixDb);
    try {
      flow(prefixDb, { OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)) }, id);
    } finally {
      await store.deleteCredential(id);
      await store.close();
    }
  });

  it('bad store URL, unreachable Redis and a missing key are typed errors', () => {
    const bad = cli(['otp', 'verify', '--store', 'mysql://x', '--id', 'a', '123456'], {
      OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)),
    });
    assert.equal(bad.status, 1);
    assert.equal(JSON.parse(bad.err).error.code, 'ERR_STORE_URL_INVALID');
    const down = cli(['otp', 'verify', '--store', 'redis://127.0.0.1:1', '--id', 'a', '123456'], {
      OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)),
    });
    assert.equal(down.status, 1);
    assert.equal(JSON.parse(down.err).error.code, 'ERR_STORE_UNAVAILABLE');
    const nokey = cli(['otp', 'verify', '--store', 'redis://127.0.0.1:1', '--id', 'a', '123456']);
    assert.equal(JSON.parse(nokey.err).error.code, 'ERR_STORE_KEY_MISSING');
  });
});
