import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  actionQuestion,
  canonicalAction,
  createActionCode,
  matchActionCode,
  verifyActionCode,
} from '../../src/offline/index.js';
import { openStore } from '../../src/stores/index.js';
import { rejectsCode, throwsCode } from './helpers.js';

interface Vector {
  name: string;
  action: string;
  params: Record<string, string | number | boolean>;
  canonical: string;
  question: string;
  suite: string;
  keyHex: string;
  time: number;
  code: string;
}
const vectors = JSON.parse(readFileSync(new URL('./vectors/action-codes.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

describe('action code known answers (computed independently in Python, see vectors file)', () => {
  for (const v of vectors.vectors) {
    it(v.name, () => {
      assert.equal(canonicalAction(v.action, v.params), v.canonical);
      assert.equal(actionQuestion(v.action, v.params), v.question);
      const key = Buffer.from(v.keyHex, 'hex');
      assert.equal(
        createActionCode({ key, action: v.action, params: v.params, suite: v.suite, clock: () => v.time }),
        v.code,
      );
    });
  }
});

describe('action-bound codes', () => {
  const key = Buffer.from('3132333435363738393031323334353637383930313233343536373839303132', 'hex');
  const t = 1_800_000_000;
  const base = { key, action: 'approve-payment', params: { amount: 10000, payee: 'bob' }, clock: () => t };

  it('are 8 digits by default and verify for the same action and params', async () => {
    const code = createActionCode(base);
    assert.match(code, /^\d{8}$/);
    assert.equal(await verifyActionCode({ ...base, code }), 0);
  });

  it('do not depend on the order of params', () => {
    assert.equal(
      createActionCode(base),
      createActionCode({ ...base, params: { payee: 'bob', amount: 10000 } }),
    );
  });

  it('10-digit suites work', () => {
    const suite = 'OCRA-1:HOTP-SHA512-10:QH64-T30S';
    const code = createActionCode({ ...base, suite });
    assert.match(code, /^\d{10}$/);
    assert.equal(matchActionCode({ ...base, suite, code }), 0);
  });

  it('another amount, payee or action -> ERR_ACTION_CODE_INVALID', async () => {
    const code = createActionCode(base);
    await rejectsCode(
      () => verifyActionCode({ ...base, params: { amount: 90000, payee: 'bob' }, code }),
      'ERR_ACTION_CODE_INVALID',
    );
    await rejectsCode(
      () => verifyActionCode({ ...base, params: { amount: 10000, payee: 'eve' }, code }),
      'ERR_ACTION_CODE_INVALID',
    );
    await rejectsCode(
      () => verifyActionCode({ ...base, action: 'reject-payment', code }),
      'ERR_ACTION_CODE_INVALID',
    );
  });

  it('accepts within the window and refuses outside it', () => {
    const code = createActionCode(base);
    assert.equal(matchActionCode({ ...base, clock: () => t + 60, code }), -1);
    throwsCode(() => matchActionCode({ ...base, clock: () => t + 180, code }), 'ERR_ACTION_CODE_INVALID');
    throwsCode(
      () => matchActionCode({ ...base, clock: () => t + 60, window: 0, code }),
      'ERR_ACTION_CODE_INVALID',
    );
  });

  it('malformed codes -> ERR_ACTION_CODE_INVALID', () => {
    for (const code of ['', '1234567', '123456789', 'abcdefgh', '1234 678'])
      throwsCode(() => matchActionCode({ ...base, code }), 'ERR_ACTION_CODE_INVALID');
  });

  it('with a replay store, a code works once -> ERR_ACTION_CODE_REPLAYED', async () => {
    const store = await openStore('memory:');
    try {
      const code = createActionCode(base);
      await verifyActionCode({ ...base, code, consume: store });
      await rejectsCode(
        () => verifyActionCode({ ...base, code, consume: store }),
        'ERR_ACTION_CODE_REPLAYED',
      );
    } finally {
      await store.close();
    }
  });

  it('refuses weak suites and floats', () => {
    throwsCode(() => createActionCode({ ...base, suite: 'OCRA-1:HOTP-SHA1-6:QN08' }), 'ERR_INVALID_ARGUMENT');
    throwsCode(
      () => createActionCode({ ...base, suite: 'OCRA-1:HOTP-SHA256-6:QH64-T1M' }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(() => createActionCode({ ...base, params: { amount: 1.5 } }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => createActionCode({ ...base, key: Buffer.alloc(8) }), 'ERR_INVALID_ARGUMENT');
  });
});
