import assert from 'node:assert/strict';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hotp, type OtpAlgorithm, totp, totpStep, verifyHotp, verifyTotp } from '../../src/otp/index.js';

// An independent RFC 4226 reference straight from node:crypto, to check the optimised path against.
function ref(secret: Uint8Array, counter: number, digits: number, alg = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(alg, secret).update(msg).digest();
  const off = mac[mac.length - 1]! & 15;
  return String((mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits).padStart(digits, '0');
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

const secret = randomBytes(20);
const T = 1_800_000_000;

describe('hotp / totp', () => {
  for (const [alg, len] of [
    ['SHA1', 20],
    ['SHA256', 32],
    ['SHA512', 64],
  ] as const) {
    for (const digits of [6, 7, 8, 9, 10]) {
      it(`${alg} ${digits} digits agree with a plain node:crypto HOTP`, () => {
        const s = randomBytes(len);
        for (const c of [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
          assert.equal(
            hotp(s, c, { algorithm: alg as OtpAlgorithm, digits }),
            ref(s, c, digits, alg.toLowerCase()),
          );
        }
      });
    }
  }

  it('takes a secret KeyObject as well as bytes', () => {
    const key = createSecretKey(secret);
    assert.equal(hotp(key, 7), hotp(secret, 7));
    assert.equal(totp(key, { now: T }), totp(secret, { now: T }));
  });

  it('honours period and T0', () => {
    assert.equal(totpStep({ now: T, period: 60, t0: 600 }), Math.floor((T - 600) / 60));
    assert.equal(totp(secret, { now: T, period: 60, t0: 600 }), ref(secret, Math.floor((T - 600) / 60), 6));
    assert.equal(totp(secret, { now: T + 0.999, period: 1 }), ref(secret, T, 6));
  });

  it('accepts a HOTP counter up to 2^64-1 as a bigint', () => {
    const mac = createHmac('sha1', secret).update(Buffer.from('ffffffffffffffff', 'hex')).digest();
    const off = mac[19]! & 15;
    const want = String((mac.readUInt32BE(off) & 0x7fffffff) % 1e6).padStart(6, '0');
    assert.equal(hotp(secret, 2n ** 64n - 1n), want);
  });
});

describe('verifyTotp', () => {
  const at = (d: number) => ref(secret, Math.floor(T / 30) + d, 6);

  it('accepts the current step and +/-1 by default, with the delta', () => {
    assert.deepEqual(verifyTotp(secret, at(0), { now: T }), { step: T / 30, delta: 0 });
    assert.equal(verifyTotp(secret, at(-1), { now: T })?.delta, -1);
    assert.equal(verifyTotp(secret, at(1), { now: T })?.delta, 1);
  });

  it('returns null outside the window, and for a wrong code', () => {
    assert.equal(verifyTotp(secret, at(2), { now: T }), null);
    assert.equal(verifyTotp(secret, at(-2), { now: T }), null);
    const wrong = at(0) === '000000' ? '000001' : '000000';
    assert.equal(verifyTotp(secret, wrong, { now: T, window: 0 }), null);
  });

  it('takes an asymmetric [past, future] window', () => {
    assert.equal(verifyTotp(secret, at(-3), { now: T, window: [3, 0] })?.delta, -3);
    assert.equal(verifyTotp(secret, at(1), { now: T, window: [3, 0] }), null);
  });

  it('checks SHA256 / 8 digits / 60 s steps', () => {
    const s = randomBytes(32);
    const code = ref(s, Math.floor(T / 60) - 1, 8, 'sha256');
    const o = { now: T, algorithm: 'SHA256', digits: 8, period: 60 } as const;
    assert.equal(verifyTotp(s, code, o)?.delta, -1);
  });
});

describe('verifyHotp', () => {
  it('looks ahead by window and reports the counter', () => {
    assert.deepEqual(verifyHotp(secret, ref(secret, 13, 6), { counter: 10, window: 5 }), {
      counter: 13,
      delta: 3,
    });
    assert.equal(verifyHotp(secret, ref(secret, 16, 6), { counter: 10, window: 5 }), null);
    assert.equal(verifyHotp(secret, ref(secret, 9, 6), { counter: 10, window: 5 }), null);
  });
});

describe('bad input', () => {
  it('rejects codes of the wrong length, non-numeric and oversized with ERR_OTP_FORMAT', () => {
    for (const code of ['12345', '1234567', '12345a', ' 123456', '１２３４５６', '', '1'.repeat(10_000)]) {
      throwsCode(() => verifyTotp(secret, code, { now: T }), 'ERR_OTP_FORMAT');
      throwsCode(() => verifyHotp(secret, code, { counter: 0 }), 'ERR_OTP_FORMAT');
    }
    throwsCode(() => verifyTotp(secret, 123456 as unknown as string, { now: T }), 'ERR_OTP_FORMAT');
  });

  it('rejects out-of-range digits, algorithm, period, window and counters with ERR_INVALID_ARGUMENT', () => {
    for (const digits of [0, 5, 11, 6.5])
      throwsCode(() => hotp(secret, 0, { digits }), 'ERR_INVALID_ARGUMENT');
    for (const algorithm of ['MD5', 'sha1', 'toString'])
      throwsCode(() => hotp(secret, 0, { algorithm: algorithm as OtpAlgorithm }), 'ERR_INVALID_ARGUMENT');
    for (const period of [0, -30, 1.5, 86401])
      throwsCode(() => totp(secret, { period }), 'ERR_INVALID_ARGUMENT');
    for (const window of [-1, 101, 1.5, [1, -1] as const])
      throwsCode(() => verifyTotp(secret, '123456', { window }), 'ERR_INVALID_ARGUMENT');
    for (const c of [-1, 1.5, Number.NaN, 2 ** 53, -1n, 2n ** 64n])
      throwsCode(() => hotp(secret, c), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => verifyHotp(secret, '123456', { counter: 0, window: 1001 }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => totp(secret, { now: 10, t0: 100 }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => totp(secret, { now: Number.POSITIVE_INFINITY }), 'ERR_INVALID_ARGUMENT');
  });

  it('rejects secrets that are too short, too long or not bytes with ERR_INVALID_ARGUMENT', () => {
    for (const s of [randomBytes(9), randomBytes(1025), 'JBSWY3DPEHPK3PXP' as unknown as Uint8Array]) {
      throwsCode(() => hotp(s, 0), 'ERR_INVALID_ARGUMENT');
    }
  });
});
