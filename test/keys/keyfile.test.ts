import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exportJwk, generateKey, readKeyFileSync, writeKeyFileSync } from '../../src/keys/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));

describe('key files', () => {
  it('writes a private key file with mode 0600 and reads it back', () => {
    const k = generateKey('EdDSA');
    const f = path.join(dir, 'a.json');
    writeKeyFileSync(f, k);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(readKeyFileSync(f).kid, k.kid);
  });
  it('round-trips an encrypted file and rejects a wrong passphrase', () => {
    const k = generateKey('ES256');
    const f = path.join(dir, 'b.json');
    writeKeyFileSync(f, k, { passphrase: 'correct horse' });
    assert.equal(readKeyFileSync(f, { passphrase: 'correct horse' }).kid, k.kid);
    assert.throws(() => readKeyFileSync(f, { passphrase: 'wrong' }), { code: 'ERR_KEYFILE_DECRYPT_FAILED' });
  });
  it('rejects tampered ciphertext', () => {
    const f = path.join(dir, 'c.json');
    writeKeyFileSync(f, generateKey('HS256'), { passphrase: 'pw' });
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    const ct = Buffer.from(doc.encrypted.ct, 'base64url');
    ct[0] = (ct[0] as number) ^ 1;
    doc.encrypted.ct = ct.toString('base64url');
    writeFileSync(f, JSON.stringify(doc), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f, { passphrase: 'pw' }), { code: 'ERR_KEYFILE_DECRYPT_FAILED' });
  });
  it('rejects scrypt parameters that would demand huge memory', () => {
    const f = path.join(dir, 'd.json');
    writeKeyFileSync(f, generateKey('HS256'), { passphrase: 'pw' });
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    doc.encrypted.kdf.logN = 30;
    writeFileSync(f, JSON.stringify(doc), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f, { passphrase: 'pw' }), { code: 'ERR_KEYFILE_INVALID' });
  });
  it('refuses a 0644 private key file unless forced', () => {
    const k = generateKey('EdDSA');
    const f = path.join(dir, 'e.json');
    writeKeyFileSync(f, k);
    chmodSync(f, 0o644);
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_KEYFILE_PERMISSIONS' });
    assert.equal(readKeyFileSync(f, { force: true }).kid, k.kid);
  });
  it('accepts a public-only key file at 0644', () => {
    const k = generateKey('EdDSA');
    const f = path.join(dir, 'f.json');
    writeFileSync(f, JSON.stringify({ v: 1, jwk: exportJwk(k) }), { mode: 0o644 });
    chmodSync(f, 0o644);
    assert.equal(readKeyFileSync(f).privateKey, undefined);
  });
});
