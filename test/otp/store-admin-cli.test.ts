import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeBase64url } from '../../src/encoding/base64url.js';
import { base32Decode, base32Encode } from '../../src/otp/base32.js';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { totp } from '../../src/otp/totp.js';
import { cli, ok, rejected, tempDir } from '../cli/helpers.js';

function enroll(where: string[], id: string, extra: string[] = [], env: Record<string, string> = {}): Buffer {
  const uri = ok(cli(['otp', 'enroll', ...where, '--id', id, ...extra], { env })).trim();
  return base32Decode(new URL(uri).searchParams.get('secret') as string);
}

describe('otp list / delete / unlock / resync', () => {
  it('otp list prints the ids, and --json their metadata without any secret', () => {
    const store = ['--store', `sqlite:${join(tempDir(), 'store.db')}`];
    const s1 = enroll(store, 'bob', ['--type', 'hotp', '--digits', '8']);
    const s2 = enroll(store, 'alice', ['--period', '60', '--alg', 'SHA256']);
    assert.equal(ok(cli(['otp', 'list', ...store])), 'alice\nbob\n');
    const out = ok(cli(['otp', 'list', ...store, '--json']));
    assert.deepEqual(JSON.parse(out), [
      {
        id: 'alice',
        type: 'totp',
        algorithm: 'SHA256',
        digits: 6,
        period: 60,
        locked: false,
        lockedUntil: 0,
        failures: 0,
      },
      {
        id: 'bob',
        type: 'hotp',
        algorithm: 'SHA1',
        digits: 8,
        counter: 0,
        locked: false,
        lockedUntil: 0,
        failures: 0,
      },
    ]);
    for (const secret of [s1, s2]) {
      assert.ok(!out.includes(base32Encode(secret, { padding: false })));
      assert.ok(!out.includes(secret.toString('hex')));
    }
    assert.ok(!/sealed|secret/i.test(out));
    assert.equal(ok(cli(['otp', 'list', '--store', `sqlite:${join(tempDir(), 'empty.db')}`])), '');
  });

  it('otp delete removes a credential and refuses an unknown id with ERR_OTP_UNKNOWN_CREDENTIAL', () => {
    const dir = ['--data-dir', tempDir()];
    enroll(dir, 'alice');
    assert.deepEqual(JSON.parse(ok(cli(['otp', 'delete', ...dir, '--id', 'alice']))), {
      id: 'alice',
      deleted: true,
    });
    assert.equal(ok(cli(['otp', 'list', ...dir])), '');
    rejected(cli(['otp', 'delete', ...dir, '--id', 'alice']), 'ERR_OTP_UNKNOWN_CREDENTIAL');
    rejected(cli(['otp', 'verify', ...dir, '--id', 'alice', '123456']), 'ERR_OTP_UNKNOWN_CREDENTIAL');
  });

  it('otp unlock clears the lockout but keeps a used code used', () => {
    const dir = ['--data-dir', tempDir()];
    const secret = enroll(dir, 'alice');
    const now = 1_800_000_000;
    const code = totp(secret, { now });
    const at = ['--id', 'alice', '--now', String(now)];
    ok(cli(['otp', 'verify', ...dir, ...at, code]));
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) rejected(cli(['otp', 'verify', ...dir, ...at, wrong]), 'ERR_OTP_INVALID');
    const next = totp(secret, { now: now + 30 });
    rejected(cli(['otp', 'verify', ...dir, ...at, next]), 'ERR_OTP_LOCKED');
    const meta = () => JSON.parse(ok(cli(['otp', 'list', ...dir, '--json'])))[0];
    assert.deepEqual([meta().failures, meta().lockedUntil], [5, now + 30]);
    assert.deepEqual(JSON.parse(ok(cli(['otp', 'unlock', ...dir, '--id', 'alice']))), {
      id: 'alice',
      unlocked: true,
    });
    assert.deepEqual([meta().failures, meta().lockedUntil, meta().locked], [0, 0, false]);
    rejected(cli(['otp', 'verify', ...dir, ...at, code]), 'ERR_OTP_REPLAYED');
    assert.equal(JSON.parse(ok(cli(['otp', 'verify', ...dir, ...at, next]))).ok, true);
    rejected(cli(['otp', 'unlock', ...dir, '--id', 'nobody']), 'ERR_OTP_UNKNOWN_CREDENTIAL');
  });

  it('otp resync finds two consecutive HOTP codes ahead and refuses a TOTP credential', () => {
    const store = ['--store', `sqlite:${join(tempDir(), 'store.db')}`];
    const secret = enroll(store, 'tok', ['--type', 'hotp']);
    const c = (n: number) => hotpBytes(secret, n, 'SHA1', 6).toString();
    rejected(cli(['otp', 'resync', ...store, '--id', 'tok', c(50), c(52)]), 'ERR_OTP_INVALID');
    assert.deepEqual(JSON.parse(ok(cli(['otp', 'resync', ...store, '--id', 'tok', c(50), c(51)]))), {
      id: 'tok',
      ok: true,
      type: 'hotp',
      counter: 51,
      drift: 0,
    });
    rejected(cli(['otp', 'resync', ...store, '--id', 'tok', c(50), c(51)]), 'ERR_OTP_INVALID');
    assert.equal(JSON.parse(ok(cli(['otp', 'verify', ...store, '--id', 'tok', c(52)]))).counter, 52);
    enroll(store, 'app');
    rejected(cli(['otp', 'resync', ...store, '--id', 'app', '123456', '654321']), 'ERR_INVALID_ARGUMENT');
  });

  it('--data-dir uses DIR/otp-store.key whatever OFFTOKEN_STORE_KEY says', () => {
    const dir = ['--data-dir', tempDir()];
    const secret = enroll(dir, 'alice', [], { OFFTOKEN_STORE_KEY: encodeBase64url(randomBytes(32)) });
    const now = 1_800_000_000;
    const r = cli(['otp', 'verify', ...dir, '--id', 'alice', '--now', String(now), totp(secret, { now })]);
    assert.equal(JSON.parse(ok(r)).ok, true);
  });

  it('needs exactly one of --data-dir and --store, and still refuses memory:', () => {
    rejected(cli(['otp', 'list']), 'ERR_USAGE', 2);
    rejected(cli(['otp', 'list', '--data-dir', tempDir(), '--store', 'sqlite:x.db']), 'ERR_USAGE', 2);
    rejected(cli(['otp', 'enroll', '--store', 'memory:', '--id', 'a']), 'ERR_USAGE', 2);
    rejected(cli(['otp', 'unlock', '--store', 'memory:', '--id', 'a']), 'ERR_USAGE', 2);
  });
});
