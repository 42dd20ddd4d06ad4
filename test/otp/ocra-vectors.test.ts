import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ocra, verifyOcra } from '../../src/otp/index.js';

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
const file = JSON.parse(readFileSync(new URL('./vectors/rfc6287.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

describe('RFC 6287 Appendix C', () => {
  for (const v of file.vectors) {
    it(`${v.section}: ${v.suite} Q=${v.question}${v.counter !== undefined ? ` C=${v.counter}` : ''} -> ${v.response}`, () => {
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
