import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeBase64url } from '../../src/encoding/base64url.js';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { base32Decode } from '../../src/otp/index.js';
import { RedisStore } from '../../src/stores/index.js';
import { cli as runCli } from '../cli/helpers.js';
import { redisSkip, redisUrl } from '../stores/backends.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = runCli(args, { env });
  return { status: r.code, out: r.stdout, err: r.stderr };
}

function secretOf(uri: string): Buffer {
  return base32Decode(new URL(uri).searchParams.get('secret') as string);
}

function flow(store: string, env: Record<string, string>) {
  const e = cli(
    ['otp', 'enroll', '--store', store, '--id', 'alice', '--type', 'hotp', '--issuer', 'ACME'],
    env,
  );
  assert.equal(e.status, 0, e.err);
  const uri = e.out.trim().split('\n')[0] as string;
  assert.match(uri, /^otpauth:\/\/hotp\/ACME%3Aalice\?secret=/);
  const secret = secretOf(uri);
  const code = hotpBytes(secret, 0, 'SHA1', 6).toString();
  const ok = cli(['otp', 'verify', '--store', store, '--id', 'alice', code], env);
  assert.equal(ok.status, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out), { id: 'alice', ok: true, type: 'hotp', counter: 0, drift: 0 });
  const again = cli(['otp', 'verify', '--store', store, '--id', 'alice', code], env);
  assert.equal(again.status, 1);
  assert.equal(JSON.parse(again.err).error.code, 'ERR_OTP_REPLAYED');
  const fmt = cli(['otp', 'verify', '--store', store, '--id', 'alice', '12ab56'], env);
  assert.equal(fmt.status, 1);
  assert.equal(JSON.parse(fmt.err).error.code, 'ERR_OTP_FORMAT');
  const unk = cli(['otp', 'verify', '--store', store, '--id', 'bob', '123456'], env);
  assert.equal(JSON.parse(unk.err).error.code, 'ERR_OTP_UNKNOWN_CREDENTIAL');
  const dup = cli(['otp', 'enroll', '--store', store, '--id', 'alice'], env);
  assert.equal(JSON.parse(dup.err).error.code, 'ERR_OTP_CREDENTIAL_EXISTS');
}

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
    // the CLI uses the default key prefix; clean its one credential up afterwards
    const store = await RedisStore.connect(prefixDb);
    await store.deleteCredential('alice');
    try {
      flow(prefixDb, { OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)) });
    } finally {
      await store.deleteCredential('alice');
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
