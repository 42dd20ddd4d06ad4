import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeBase64url } from '../../src/encoding/base64url.js';
import { resolveStoreKey } from '../../src/stores/index.js';

describe('resolveStoreKey', () => {
  it('creates <db>.key with mode 0600 once and reuses it', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 's.db');
    const k1 = resolveStoreKey(`sqlite:${db}`, {});
    assert.equal(k1.length, 32);
    assert.equal(statSync(`${db}.key`).mode & 0o777, 0o600);
    assert.deepEqual(resolveStoreKey(`sqlite:${db}`, {}), k1);
  });

  it('prefers OFFTOKEN_STORE_KEY and validates it', () => {
    const k = Buffer.alloc(32, 7);
    assert.deepEqual(
      resolveStoreKey('redis://127.0.0.1:6379', { OFFTOKEN_STORE_KEY: encodeBase64url(k) }),
      k,
    );
    assert.throws(() => resolveStoreKey('redis://h:1', { OFFTOKEN_STORE_KEY: 'abc' }), {
      code: 'ERR_STORE_KEY_INVALID',
    });
    assert.throws(() => resolveStoreKey('redis://h:1', { OFFTOKEN_STORE_KEY: '!!!' }), {
      code: 'ERR_STORE_KEY_INVALID',
    });
  });

  it('requires the variable for Redis', () => {
    assert.throws(() => resolveStoreKey('redis://h:1', {}), { code: 'ERR_STORE_KEY_MISSING' });
  });

  it('refuses a group-readable key file', () => {
    const db = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 's.db');
    resolveStoreKey(`sqlite:${db}`, {});
    chmodSync(`${db}.key`, 0o644);
    assert.throws(() => resolveStoreKey(`sqlite:${db}`, {}), { code: 'ERR_STORE_KEY_INVALID' });
  });
});
