import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import * as OTPAuth from 'otpauth';
import { generateSync as otplibGenerate, generateURI as otplibUri, verifySync as otplibVerify } from 'otplib';
import speakeasy from 'speakeasy';
import {
  base32Decode,
  base32Encode,
  buildOtpauthUri,
  hotp,
  type OtpAlgorithm,
  parseOtpauthUri,
  totp,
  verifyHotp,
  verifyTotp,
} from '../../src/otp/index.js';

// Codes agree with the three libraries people use today, both ways: theirs verify ours, ours verify theirs.
const ALGS: [OtpAlgorithm, number][] = [
  ['SHA1', 20],
  ['SHA256', 32],
  ['SHA512', 64],
];
const T = 1_800_000_015;

describe('interop: otplib v13', () => {
  for (const [alg, len] of ALGS) {
    for (const digits of [6, 8] as const) {
      it(`TOTP/HOTP ${alg} ${digits} digits, both ways`, () => {
        const secret = randomBytes(len);
        const b32 = base32Encode(secret, { padding: false });
        const algorithm = alg.toLowerCase() as 'sha1' | 'sha256' | 'sha512';
        const o = { secret: b32, algorithm, digits, period: 60 };
        const ours = totp(secret, { algorithm: alg, digits, period: 60, now: T });
        assert.equal(otplibGenerate({ ...o, epoch: T }), ours);
        assert.equal(otplibVerify({ ...o, epoch: T + 60, token: ours, epochTolerance: 60 }).valid, true);
        const theirs = otplibGenerate({ ...o, epoch: T - 60 });
        assert.equal(verifyTotp(secret, theirs, { algorithm: alg, digits, period: 60, now: T })?.delta, -1);
        const h = otplibGenerate({ ...o, strategy: 'hotp', counter: 99 });
        assert.equal(hotp(secret, 99, { algorithm: alg, digits }), h);
        assert.deepEqual(verifyHotp(secret, h, { algorithm: alg, digits, counter: 97, window: 2 }), {
          counter: 99,
          delta: 2,
        });
      });
    }
  }
});

describe('interop: otpauth', () => {
  for (const [alg, len] of ALGS) {
    it(`TOTP/HOTP ${alg} 8 digits, both ways`, () => {
      const secret = randomBytes(len);
      const s = new OTPAuth.Secret({ buffer: new Uint8Array(secret).buffer });
      const t = new OTPAuth.TOTP({ secret: s, algorithm: alg, digits: 8, period: 45 });
      const ours = totp(secret, { algorithm: alg, digits: 8, period: 45, now: T });
      assert.equal(t.generate({ timestamp: T * 1000 }), ours);
      assert.equal(t.validate({ token: ours, timestamp: (T + 45) * 1000, window: 1 }), -1);
      const theirs = t.generate({ timestamp: (T + 45) * 1000 });
      assert.equal(verifyTotp(secret, theirs, { algorithm: alg, digits: 8, period: 45, now: T })?.delta, 1);
      const h = new OTPAuth.HOTP({ secret: s, algorithm: alg, digits: 8 });
      assert.equal(h.generate({ counter: 5 }), hotp(secret, 5, { algorithm: alg, digits: 8 }));
    });
  }

  it('reads the URIs we build, and we read the URIs it builds', () => {
    for (const [alg, len] of ALGS) {
      const secret = randomBytes(len);
      const uri = buildOtpauthUri({
        type: 'totp',
        secret,
        issuer: 'ACME Co',
        account: 'jane.doe@example.com',
        algorithm: alg,
        digits: 8,
        period: 60,
      });
      const p = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
      assert.ok(p instanceof OTPAuth.TOTP);
      assert.deepEqual(
        {
          issuer: p.issuer,
          label: p.label,
          algorithm: p.algorithm,
          digits: p.digits,
          period: p.period,
          secret: p.secret.base32,
        },
        {
          issuer: 'ACME Co',
          label: 'jane.doe@example.com',
          algorithm: alg,
          digits: 8,
          period: 60,
          secret: base32Encode(secret, { padding: false }),
        },
      );
      const hUri = buildOtpauthUri({ type: 'hotp', secret, account: 'bob', algorithm: alg, counter: 12 });
      const hp = OTPAuth.URI.parse(hUri) as OTPAuth.HOTP;
      assert.ok(hp instanceof OTPAuth.HOTP);
      assert.equal(hp.counter, 12);
      assert.equal(hp.label, 'bob');

      const theirs = new OTPAuth.TOTP({
        issuer: 'Big Bank',
        label: 'alice@example.com',
        secret: new OTPAuth.Secret({ buffer: new Uint8Array(secret).buffer }),
        algorithm: alg,
        digits: 7,
        period: 20,
      }).toString();
      const k = parseOtpauthUri(theirs);
      assert.deepEqual(
        {
          type: k.type,
          issuer: k.issuer,
          account: k.account,
          algorithm: k.algorithm,
          digits: k.digits,
          period: k.period,
        },
        {
          type: 'totp',
          issuer: 'Big Bank',
          account: 'alice@example.com',
          algorithm: alg,
          digits: 7,
          period: 20,
        },
      );
      assert.deepEqual(k.secret, secret);
      const hk = parseOtpauthUri(
        new OTPAuth.HOTP({
          label: 'x',
          secret: OTPAuth.Secret.fromHex(secret.toString('hex')),
          counter: 3,
        }).toString(),
      );
      assert.equal(hk.counter, 3);
    }
  });
});

describe('interop: speakeasy', () => {
  for (const [alg, len] of ALGS) {
    it(`TOTP/HOTP ${alg}, both ways`, () => {
      const secret = randomBytes(len);
      const algorithm = alg.toLowerCase() as 'sha1' | 'sha256' | 'sha512';
      const o = { secret: base32Encode(secret), encoding: 'base32' as const, algorithm, digits: 8, step: 30 };
      const ours = totp(secret, { algorithm: alg, digits: 8, now: T });
      assert.equal(speakeasy.totp({ ...o, time: T }), ours);
      assert.equal(speakeasy.totp.verify({ ...o, time: T + 30, token: ours, window: 1 }), true);
      const theirs = speakeasy.totp({ ...o, time: T - 30 });
      assert.equal(verifyTotp(secret, theirs, { algorithm: alg, digits: 8, now: T })?.delta, -1);
      const h = speakeasy.hotp({ ...o, counter: 1234 });
      assert.equal(hotp(secret, 1234, { algorithm: alg, digits: 8 }), h);
    });
  }

  it('decodes the base32 secrets speakeasy generates', () => {
    const s = speakeasy.generateSecret({ length: 32 });
    assert.deepEqual(base32Decode(s.base32), Buffer.from(s.hex, 'hex'));
    assert.equal(
      hotp(base32Decode(s.base32), 0),
      speakeasy.hotp({ secret: s.base32, encoding: 'base32', counter: 0 }),
    );
  });
});

describe('interop: URIs from otplib and speakeasy', () => {
  it('parses what they build', () => {
    const secret = randomBytes(32);
    const b32 = base32Encode(secret, { padding: false });
    const o = {
      label: 'alice@example.com',
      issuer: 'ACME Co',
      algorithm: 'sha256',
      digits: 8,
      period: 60,
    } as const;
    const want = {
      type: 'totp',
      account: 'alice@example.com',
      issuer: 'ACME Co',
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    };
    for (const uri of [
      otplibUri({ ...o, secret: b32 }),
      speakeasy.otpauthURL({ ...o, secret: b32, encoding: 'base32' }),
    ]) {
      const k = parseOtpauthUri(uri);
      assert.deepEqual(
        {
          type: k.type,
          account: k.account,
          issuer: k.issuer,
          algorithm: k.algorithm,
          digits: k.digits,
          period: k.period,
        },
        want,
      );
      assert.deepEqual(k.secret, secret);
    }
    const h = parseOtpauthUri(
      otplibUri({ strategy: 'hotp', issuer: 'X', label: 'y', secret: b32, counter: 5 }),
    );
    assert.deepEqual([h.type, h.counter, h.issuer, h.account], ['hotp', 5, 'X', 'y']);
  });
});
