import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  base32Decode,
  base32Encode,
  hotp,
  type OtpAlgorithm,
  ocra,
  totp,
  totpStep,
  verifyHotp,
  verifyOcra,
  verifyTotp,
} from '../../src/otp/index.js';

// Known answers from the RFCs, one JSON file each under ./vectors, one table-driven test per file.
function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T;
}

describe('RFC 4226 Appendix D (HOTP)', () => {
  const f = load<{
    secretAscii: string;
    algorithm: OtpAlgorithm;
    digits: number;
    vectors: { counter: number; code: string }[];
  }>('rfc4226.json');
  const secret = Buffer.from(f.secretAscii, 'latin1');
  for (const v of f.vectors) {
    it(`counter ${v.counter} -> ${v.code}`, () => {
      const o = { algorithm: f.algorithm, digits: f.digits };
      assert.equal(hotp(secret, v.counter, o), v.code);
      assert.equal(hotp(secret, BigInt(v.counter), o), v.code);
      assert.deepEqual(verifyHotp(secret, v.code, { ...o, counter: v.counter }), {
        counter: v.counter,
        delta: 0,
      });
    });
  }
});

describe('RFC 6238 Appendix B (TOTP, SHA1/SHA256/SHA512)', () => {
  const f = load<{
    period: number;
    t0: number;
    digits: number;
    vectors: { time: number; stepHex: string; algorithm: OtpAlgorithm; secretAscii: string; code: string }[];
  }>('rfc6238.json');
  for (const v of f.vectors) {
    it(`${v.algorithm} at ${v.time} (T=${v.stepHex}) -> ${v.code}`, () => {
      const secret = Buffer.from(v.secretAscii, 'latin1');
      const o = { algorithm: v.algorithm, digits: f.digits, period: f.period, t0: f.t0, now: v.time };
      assert.equal(totpStep(o), Number.parseInt(v.stepHex, 16));
      assert.equal(totp(secret, o), v.code);
      assert.deepEqual(verifyTotp(secret, v.code, o), { step: Number.parseInt(v.stepHex, 16), delta: 0 });
    });
  }
});

describe('RFC 4648 Section 10 (base32)', () => {
  const f = load<{ vectors: { ascii: string; base32: string }[] }>('rfc4648-base32.json');
  for (const v of f.vectors) {
    it(`${JSON.stringify(v.ascii)} <-> ${JSON.stringify(v.base32)}`, () => {
      const bytes = Buffer.from(v.ascii, 'latin1');
      assert.equal(base32Encode(bytes), v.base32);
      assert.equal(base32Encode(bytes, { padding: false }), v.base32.replace(/=+$/, ''));
      assert.deepEqual(base32Decode(v.base32), bytes);
      assert.deepEqual(base32Decode(v.base32.replace(/=+$/, '').toLowerCase()), bytes);
    });
  }
});

describe('RFC 6287 Appendix C (OCRA one-way, mutual challenge-response, signature)', () => {
  interface Vector {
    section: string;
    suite: string;
    keyHex: string;
    counter?: number;
    question: string;
    pin?: string;
    pinHashHex?: string;
    timestampHex?: string;
    response: string;
  }
  const f = load<{ vectors: Vector[] }>('rfc6287.json');
  for (const v of f.vectors) {
    const c = v.counter !== undefined ? ` C=${v.counter}` : '';
    it(`${v.section}: ${v.suite} Q=${v.question}${c} -> ${v.response}`, () => {
      const input = {
        question: v.question,
        ...(v.counter !== undefined ? { counter: v.counter } : {}),
        ...(v.pin !== undefined ? { pin: v.pin } : {}),
        ...(v.pinHashHex !== undefined ? { pinHash: v.pinHashHex } : {}),
        ...(v.timestampHex !== undefined ? { timestamp: BigInt(`0x${v.timestampHex}`) } : {}),
      };
      const key = Buffer.from(v.keyHex, 'hex');
      assert.equal(ocra(v.suite, key, input), v.response);
      assert.notEqual(verifyOcra(v.suite, key, v.response, input), null);
    });
  }
});
