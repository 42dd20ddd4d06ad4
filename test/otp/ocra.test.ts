import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ocra, parseOcraSuite, verifyOcra } from '../../src/otp/index.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

const K20 = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const K32 = Buffer.from('3132333435363738393031323334353637383930313233343536373839303132', 'hex');

describe('OCRA suite parsing (RFC 6287 6)', () => {
  it('parses every data input', () => {
    assert.deepEqual(
      { ...parseOcraSuite('OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S128-T48H') },
      {
        suite: 'OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S128-T48H',
        algorithm: 'SHA512',
        digits: 10,
        counter: true,
        question: { format: 'H', length: 64 },
        pin: 'SHA256',
        session: 128,
        timeStep: 48 * 3600,
      },
    );
    assert.deepEqual(
      { ...parseOcraSuite('OCRA-1:HOTP-SHA1-0:QA04') },
      {
        suite: 'OCRA-1:HOTP-SHA1-0:QA04',
        algorithm: 'SHA1',
        digits: 0,
        counter: false,
        question: { format: 'A', length: 4 },
      },
    );
    assert.equal(parseOcraSuite('OCRA-1:HOTP-SHA256-8:QN08-T30S').timeStep, 30);
    assert.equal(parseOcraSuite('OCRA-1:HOTP-SHA256-8:QN08-T59M').timeStep, 59 * 60);
  });

  it('rejects malformed suites with ERR_OCRA_SUITE_INVALID', () => {
    for (const s of [
      '',
      'this is not a suite',
      'OCRA-2:HOTP-SHA1-6:QN08',
      'OCRA-1:HOTP-SHA1-6',
      'OCRA-1:HOTP-SHA1-6:QN08:X',
      'OCRA-1:HOTP-MD5-6:QN08',
      'OCRA-1:HOTP-SHA1-3:QN08',
      'OCRA-1:HOTP-SHA1-11:QN08',
      'OCRA-1:HOTP-SHA1-06:QN08',
      'OCRA-1:HTOP-SHA1-6:QN08',
      'OCRA-1:HOTP-SHA1-6:C',
      'OCRA-1:HOTP-SHA1-6:QX08',
      'OCRA-1:HOTP-SHA1-6:QN03',
      'OCRA-1:HOTP-SHA1-6:QN65',
      'OCRA-1:HOTP-SHA1-6:QN8',
      'OCRA-1:HOTP-SHA1-6:QN08-C',
      'OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1',
      'OCRA-1:HOTP-SHA1-6:QN08-PSHA384',
      'OCRA-1:HOTP-SHA1-6:QN08-S000',
      'OCRA-1:HOTP-SHA1-6:QN08-S513',
      'OCRA-1:HOTP-SHA1-6:QN08-T0H',
      'OCRA-1:HOTP-SHA1-6:QN08-T60S',
      'OCRA-1:HOTP-SHA1-6:QN08-T49H',
      'OCRA-1:HOTP-SHA1-6:QN08-T1D',
      'OCRA-1:HOTP-SHA1-6:QN08-',
      'ocra-1:hotp-sha1-6:qn08',
    ]) {
      throwsCode(() => parseOcraSuite(s), 'ERR_OCRA_SUITE_INVALID');
    }
    throwsCode(() => parseOcraSuite(42 as unknown as string), 'ERR_OCRA_SUITE_INVALID');
    throwsCode(() => parseOcraSuite(`OCRA-1:HOTP-SHA1-6:QN08${'-'.repeat(200)}`), 'ERR_INPUT_TOO_LARGE');
  });
});

describe('OCRA data inputs', () => {
  it('builds OCRASuite | 00 | C | Q | P | S | T as RFC 6287 5.1 lays it out', () => {
    const suite = 'OCRA-1:HOTP-SHA256-0:C-QH10-PSHA1-S004-T1M';
    const key = randomBytes(32);
    const msg = Buffer.concat([
      Buffer.from(suite),
      Buffer.from([0]),
      Buffer.from('0000000000000102', 'hex'),
      Buffer.concat([Buffer.from('abc0', 'hex'), Buffer.alloc(126)]), // "abc" left-aligned, odd nibble padded
      createHash('sha1').update('9999').digest(),
      Buffer.from('0000beef', 'hex'), // session left-padded to 4 bytes
      Buffer.from('0000000001c9c380', 'hex'),
    ]);
    const raw = createHmac('sha256', key).update(msg).digest('hex');
    const input = { counter: 258, question: 'abc', pin: '9999', session: 'beef', timestamp: 30_000_000 };
    assert.equal(ocra(suite, key, input), raw);
    assert.deepEqual(verifyOcra(suite, key, raw.toUpperCase(), input), {
      counter: 258n,
      timestamp: 30_000_000n,
    });
    // the time stamp from unix seconds: floor(now / 60)
    const { timestamp: _, ...rest } = input;
    assert.equal(ocra(suite, key, { ...rest, now: 30_000_000 * 60 + 59 }), raw);
  });

  it('accepts the PIN, or its hash as hex or bytes', () => {
    const s = 'OCRA-1:HOTP-SHA256-8:QN08-PSHA1';
    const h = createHash('sha1').update('1234').digest();
    const a = ocra(s, K32, { question: '12345678', pin: '1234' });
    assert.equal(ocra(s, K32, { question: '12345678', pinHash: h }), a);
    assert.equal(ocra(s, K32, { question: '12345678', pinHash: h.toString('hex').toUpperCase() }), a);
  });

  it('verifies with a counter look-ahead and a timestamp window', () => {
    const s = 'OCRA-1:HOTP-SHA256-8:C-QN08-T1M';
    const code = ocra(s, K32, { counter: 12, question: '55555555', timestamp: 1000 });
    assert.deepEqual(
      verifyOcra(
        s,
        K32,
        code,
        { counter: 10, question: '55555555', timestamp: 1001 },
        { counterWindow: 3, timestampWindow: 1 },
      ),
      { counter: 12n, timestamp: 1000n },
    );
    assert.equal(
      verifyOcra(
        s,
        K32,
        code,
        { counter: 10, question: '55555555', timestamp: 1002 },
        { counterWindow: 3, timestampWindow: 1 },
      ),
      null,
    );
    assert.equal(verifyOcra(s, K32, code, { counter: 12, question: '55555556', timestamp: 1000 }), null);
  });

  it('rejects inputs that do not fit the suite with ERR_OCRA_INPUT_INVALID', () => {
    const q = { question: '12345678' };
    const cases: [string, Record<string, unknown>][] = [
      ['OCRA-1:HOTP-SHA1-6:QN08', {}],
      ['OCRA-1:HOTP-SHA1-6:QN08', { question: '1234567a' }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { question: '1'.repeat(17) }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { question: '' }],
      ['OCRA-1:HOTP-SHA1-6:QA08', { question: 'SIG 1000' }],
      ['OCRA-1:HOTP-SHA1-6:QH08', { question: 'abcdefgh' }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { ...q, counter: 1 }],
      ['OCRA-1:HOTP-SHA1-6:C-QN08', q],
      ['OCRA-1:HOTP-SHA1-6:C-QN08', { ...q, counter: -1 }],
      ['OCRA-1:HOTP-SHA1-6:C-QN08', { ...q, counter: 2n ** 64n }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { ...q, pin: '1234' }],
      ['OCRA-1:HOTP-SHA1-6:QN08-PSHA1', q],
      ['OCRA-1:HOTP-SHA1-6:QN08-PSHA1', { ...q, pin: '1234', pinHash: '00'.repeat(20) }],
      ['OCRA-1:HOTP-SHA1-6:QN08-PSHA256', { ...q, pinHash: '00'.repeat(20) }],
      ['OCRA-1:HOTP-SHA1-6:QN08-PSHA1', { ...q, pinHash: 'zz'.repeat(20) }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { ...q, session: '00' }],
      ['OCRA-1:HOTP-SHA1-6:QN08-S002', q],
      ['OCRA-1:HOTP-SHA1-6:QN08-S002', { ...q, session: '000000' }],
      ['OCRA-1:HOTP-SHA1-6:QN08-S002', { ...q, session: '0' }],
      ['OCRA-1:HOTP-SHA1-6:QN08', { ...q, timestamp: 1 }],
      ['OCRA-1:HOTP-SHA1-6:QN08-T1M', { ...q, timestamp: -1 }],
      ['OCRA-1:HOTP-SHA1-6:QN08-T1M', { ...q, now: Number.NaN }],
    ];
    for (const [suite, input] of cases) {
      throwsCode(() => ocra(suite, K20, input as never), 'ERR_OCRA_INPUT_INVALID');
    }
    throwsCode(
      () => ocra('OCRA-1:HOTP-SHA1-6:QN08-PSHA1', K20, { ...q, pin: 'x'.repeat(2000) }),
      'ERR_INPUT_TOO_LARGE',
    );
  });

  it('rejects malformed responses with ERR_OTP_FORMAT and bad windows with ERR_INVALID_ARGUMENT', () => {
    const s = 'OCRA-1:HOTP-SHA1-6:QN08';
    for (const r of ['12345', '1234567', '12345x', '1'.repeat(5000)]) {
      throwsCode(() => verifyOcra(s, K20, r, { question: '00000000' }), 'ERR_OTP_FORMAT');
    }
    throwsCode(() => verifyOcra('OCRA-1:HOTP-SHA1-0:QN08', K20, '00', { question: '0' }), 'ERR_OTP_FORMAT');
    throwsCode(
      () => verifyOcra(s, K20, '123456', { question: '0' }, { counterWindow: 2 }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => verifyOcra(s, K20, '123456', { question: '0' }, { timestampWindow: 2 }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(() => ocra(s, Buffer.alloc(4), { question: '0' }), 'ERR_INVALID_ARGUMENT');
  });
});
