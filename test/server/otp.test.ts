import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OtpValidator } from '../../src/otp/validator.js';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  post,
  startServer,
  type TestClient,
  type TestServer,
} from './helpers.js';

// RFC 6238 TOTP with SHA-1, 6 digits, 30 s: computed here independently of the validator
function totp(secret: Uint8Array, t: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const off = mac[mac.length - 1]! & 0xf;
  const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000;
  return String(bin).padStart(6, '0');
}

describe('POST /otp/verify', () => {
  let s: TestServer;
  let c: TestClient;
  let secret: Uint8Array;
  before(async () => {
    s = await startServer();
    c = addClient(s, 'otp-rp');
    const v = (s.app as unknown as { otpValidator: OtpValidator }).otpValidator;
    secret = (await v.enroll({ id: 'alice-phone' })).secret;
  });
  after(() => s.close());
  const auth = () => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion(c, `${s.base}/otp/verify`),
  });

  it('accepts the current TOTP code once, then refuses its replay', async () => {
    const code = totp(secret, Date.now() / 1000);
    const ok = await post(`${s.base}/otp/verify`, { credential_id: 'alice-phone', code, ...auth() });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.valid, true);
    const replay = await post(`${s.base}/otp/verify`, { credential_id: 'alice-phone', code, ...auth() });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
  });

  it('refuses an unknown credential and requires client authentication', async () => {
    const r = await post(`${s.base}/otp/verify`, { credential_id: 'nobody', code: '123456', ...auth() });
    assert.equal(r.body.error, 'invalid_grant');
    const anon = await post(`${s.base}/otp/verify`, { credential_id: 'alice-phone', code: '123456' });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error, 'invalid_client');
  });

  it('answers an unknown id exactly as a wrong code for a known id', async () => {
    const v = (s.app as unknown as { otpValidator: OtpValidator }).otpValidator;
    await v.enroll({ id: 'bob-phone' });
    await v.enroll({ id: 'carol-token', digits: 8 });
    const answers = [];
    for (const [credential_id, code] of [
      ['bob-phone', '000000'],
      ['nobody', '000000'],
      ['carol-token', '000000'], // a known id whose codes have 8 digits
      ['nobody', '00000000'],
    ] as const) {
      const r = await post(`${s.base}/otp/verify`, { credential_id, code, ...auth() });
      answers.push({ status: r.status, body: r.body });
    }
    for (const a of answers)
      assert.deepEqual(a, {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'the code is not valid' },
      });
  });

  it('refuses a malformed code as invalid_request', async () => {
    const r = await post(`${s.base}/otp/verify`, { credential_id: 'alice-phone', code: 'abc', ...auth() });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });
});
