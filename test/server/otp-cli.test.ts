import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { base32Decode } from '../../src/otp/base32.js';
import { totp } from '../../src/otp/totp.js';
import { cli, ok, rejected } from '../cli/helpers.js';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  post,
  startServer,
  type TestClient,
  type TestServer,
} from './helpers.js';

// The documented operator flow (docs/service.md, OTP verification): enrol with the CLI into the running
// authority's data directory, verify over HTTP, unlock with the CLI.
describe('otp enroll --data-dir and POST /otp/verify share one store and key', () => {
  let s: TestServer;
  let c: TestClient;
  before(async () => {
    s = await startServer({ otpVerifyClients: ['otp-rp'] });
    c = addClient(s, 'otp-rp');
  });
  after(() => s.close());
  const verify = (credential_id: string, code: string) =>
    post(`${s.base}/otp/verify`, {
      credential_id,
      code,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(c, `${s.base}/otp/verify`),
    });

  it('accepts a CLI-enrolled code, refuses its replay, locks after wrong codes and accepts again after otp unlock', async () => {
    const uri = ok(
      cli(['otp', 'enroll', '--data-dir', s.dataDir, '--id', 'alice', '--issuer', 'ACME']),
    ).trim();
    const secret = base32Decode(new URL(uri).searchParams.get('secret') as string);
    // the server created the key at start; the CLI used that file and created no other
    assert.equal(statSync(path.join(s.dataDir, 'otp-store.key')).size, 32);
    assert.throws(() => statSync(path.join(s.dataDir, 'store.db.key')), { code: 'ENOENT' });

    const now = Date.now() / 1000;
    const code = totp(secret, { now });
    const first = await verify('alice', code);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.valid, true);
    assert.equal(first.body.type, 'totp');

    const replay = await verify('alice', code);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal(replay.body.error_description, 'this code was already used');

    // the replay above counted as the first failure; four more wrong codes reach maxFailures (5)
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) assert.equal((await verify('alice', wrong)).body.error, 'invalid_grant');
    const next = totp(secret, { now: now + 30 });
    const locked = await verify('alice', next);
    assert.equal(locked.status, 400);
    assert.equal(locked.body.error, 'invalid_grant');
    assert.match(locked.body.error_description as string, /try again after/);

    assert.deepEqual(JSON.parse(ok(cli(['otp', 'unlock', '--data-dir', s.dataDir, '--id', 'alice']))), {
      id: 'alice',
      unlocked: true,
    });
    const again = await verify('alice', next);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.valid, true);
    // unlocking does not make a used code usable again
    assert.equal((await verify('alice', code)).body.error, 'invalid_grant');
  });

  it('lists, and deletes, what the server verifies', async () => {
    ok(cli(['otp', 'enroll', '--data-dir', s.dataDir, '--id', 'bob', '--type', 'hotp']));
    const ids = ok(cli(['otp', 'list', '--data-dir', s.dataDir]))
      .trim()
      .split('\n');
    assert.ok(ids.includes('bob'), ids.join(','));
    ok(cli(['otp', 'delete', '--data-dir', s.dataDir, '--id', 'bob']));
    const gone = await verify('bob', '755224');
    assert.equal(gone.body.error, 'invalid_grant');
    rejected(cli(['otp', 'delete', '--data-dir', s.dataDir, '--id', 'bob']), 'ERR_OTP_UNKNOWN_CREDENTIAL');
  });
});
