import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { generateSync as otplibGenerate, verifySync as otplibVerify } from 'otplib';
import speakeasy from 'speakeasy';
import { base32Encode } from '../../src/otp/base32.js';
import { totp, verifyTotp } from '../../src/otp/totp.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/*
 * TOTP (RFC 6238, SHA1, 6 digits, 30 s) generate and verify with a window of +/-1 step, for a right code and
 * a wrong one. Every implementation gets its natural input (offtoken raw bytes, otplib/speakeasy the base32
 * string, otpauth its prepared TOTP object) and a fixed time, so every round does identical work.
 * `node:crypto` is the limit: the bare createHmac + truncation + timingSafeEqual loop, no checks at all, searching
 * as offtoken does (current step, then -1, then +1, stopping at a match). A wrong code costs the whole window
 * everywhere; a right one stops at its step (otpauth scans from -window upwards, so it pays for 2 HMACs here).
 */
const T = 1_800_000_000;
const secret = randomBytes(20);
const b32 = base32Encode(secret, { padding: false });
const msg = Buffer.alloc(8);

function rawCode(step: number): string {
  msg.writeUInt32BE(Math.floor(step / 0x100000000), 0);
  msg.writeUInt32BE(step >>> 0, 4);
  const mac = createHmac('sha1', secret).update(msg).digest();
  const off = mac[19]! & 15;
  return ((mac.readUInt32BE(off) & 0x7fffffff) % 1e6).toString().padStart(6, '0');
}

// The same search as offtoken's: nearest step first, stop at a match, so a wrong code costs all three.
function rawVerify(code: string, now: number): boolean {
  const given = Buffer.from(code, 'latin1');
  const step = Math.floor(now / 30);
  for (const d of [0, -1, 1]) {
    if (timingSafeEqual(Buffer.from(rawCode(step + d), 'latin1'), given)) return true;
  }
  return false;
}

export const suite: BenchSuite = {
  name: 'otp',
  async setup(): Promise<BenchCase[]> {
    const right = rawCode(Math.floor(T / 30));
    let wrong = '000000';
    while ([-1, 0, 1].some((d) => rawCode(Math.floor(T / 30) + d) === wrong))
      wrong = String(Number(wrong) + 1).padStart(6, '0');
    const otpauthTotp = new OTPAuth.TOTP({
      secret: new OTPAuth.Secret({ buffer: new Uint8Array(secret).buffer }),
    });
    const ms = T * 1000;
    const sp = { secret: b32, encoding: 'base32' as const };

    // Every implementation must agree before anything is timed.
    const check = (impl: string, got: unknown, want: unknown) => {
      if (got !== want)
        throw new Error(`otp bench: ${impl} returned ${String(got)}, expected ${String(want)}`);
    };
    check('offtoken', totp(secret, { now: T }), right);
    check('otplib', otplibGenerate({ secret: b32, epoch: T }), right);
    check('otpauth', otpauthTotp.generate({ timestamp: ms }), right);
    check('speakeasy', speakeasy.totp({ ...sp, time: T }), right);
    check('offtoken right', verifyTotp(secret, right, { now: T })?.delta, 0);
    check('offtoken wrong', verifyTotp(secret, wrong, { now: T }), null);
    check(
      'otplib right',
      otplibVerify({ secret: b32, token: right, epoch: T, epochTolerance: 30 }).valid,
      true,
    );
    check(
      'otplib wrong',
      otplibVerify({ secret: b32, token: wrong, epoch: T, epochTolerance: 30 }).valid,
      false,
    );
    check('otpauth right', otpauthTotp.validate({ token: right, timestamp: ms, window: 1 }), 0);
    check('otpauth wrong', otpauthTotp.validate({ token: wrong, timestamp: ms, window: 1 }), null);
    check('speakeasy right', speakeasy.totp.verify({ ...sp, token: right, time: T, window: 1 }), true);
    check('speakeasy wrong', speakeasy.totp.verify({ ...sp, token: wrong, time: T, window: 1 }), false);
    check('raw right', rawVerify(right, T), true);
    check('raw wrong', rawVerify(wrong, T), false);

    const cases: BenchCase[] = [];
    const g = 'totp generate';
    cases.push({ case: g, impl: 'node:crypto', fn: () => rawCode(Math.floor(T / 30)) });
    cases.push({ case: g, impl: 'offtoken', fn: () => totp(secret, { now: T }) });
    cases.push({ case: g, impl: 'otplib', fn: () => otplibGenerate({ secret: b32, epoch: T }) });
    cases.push({ case: g, impl: 'otpauth', fn: () => otpauthTotp.generate({ timestamp: ms }) });
    cases.push({ case: g, impl: 'speakeasy', fn: () => speakeasy.totp({ ...sp, time: T }) });
    for (const [name, code] of [
      ['right', right],
      ['wrong', wrong],
    ] as const) {
      const c = `totp verify ${name} (window ±1)`;
      cases.push({ case: c, impl: 'node:crypto', fn: () => rawVerify(code, T) });
      cases.push({ case: c, impl: 'offtoken', fn: () => verifyTotp(secret, code, { now: T }) });
      cases.push({
        case: c,
        impl: 'otplib',
        fn: () => otplibVerify({ secret: b32, token: code, epoch: T, epochTolerance: 30 }),
      });
      cases.push({
        case: c,
        impl: 'otpauth',
        fn: () => otpauthTotp.validate({ token: code, timestamp: ms, window: 1 }),
      });
      cases.push({
        case: c,
        impl: 'speakeasy',
        fn: () => speakeasy.totp.verify({ ...sp, token: code, time: T, window: 1 }),
      });
    }
    return cases;
  },
};
