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
  it('refuses a truncated GCM tag (a short tag would be forgeable)', () => {
    const f = path.join(dir, 'g.json');
    writeKeyFileSync(f, generateKey('EdDSA'), { passphrase: 'pw' });
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    doc.encrypted.tag = Buffer.from(doc.encrypted.tag, 'base64url').subarray(0, 4).toString('base64url');
    writeFileSync(f, JSON.stringify(doc), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f, { passphrase: 'pw' }), { code: 'ERR_KEYFILE_INVALID' });
  });
  it('writes encrypted files 0600, needs the passphrase, and refuses an empty one', () => {
    const f = path.join(dir, 'h.json');
    writeKeyFileSync(f, generateKey('ES384'), { passphrase: 'pw' });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_KEYFILE_DECRYPT_FAILED' });
    assert.throws(() => readKeyFileSync(f, { passphrase: '' }), { code: 'ERR_KEYFILE_DECRYPT_FAILED' });
    assert.throws(
      () => writeKeyFileSync(path.join(dir, 'h2.json'), generateKey('EdDSA'), { passphrase: '' }),
      {
        code: 'ERR_INVALID_ARGUMENT',
      },
    );
  });
  it('refuses outer kid/alg labels that contradict the encrypted key', () => {
    const f = path.join(dir, 'i.json');
    writeKeyFileSync(f, generateKey('EdDSA'), { passphrase: 'pw' });
    const doc = JSON.parse(readFileSync(f, 'utf8'));
    doc.kid = 'someone-else';
    writeFileSync(f, JSON.stringify(doc), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f, { passphrase: 'pw' }), { code: 'ERR_KEYFILE_INVALID' });
  });
  it('refuses a group-readable (0640) private file and treats unparsable 0644 content as private', () => {
    const f = path.join(dir, 'j.json');
    writeKeyFileSync(f, generateKey('HS512'));
    chmodSync(f, 0o640);
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_KEYFILE_PERMISSIONS' });
    const g = path.join(dir, 'k.json');
    writeFileSync(g, '{"v":1,"jwk":', { mode: 0o644 });
    chmodSync(g, 0o644);
    assert.throws(() => readKeyFileSync(g), { code: 'ERR_KEYFILE_PERMISSIONS' });
    assert.throws(() => readKeyFileSync(g, { force: true }), { code: 'ERR_KEYFILE_INVALID' });
  });
  it('gives typed errors for a missing file, a directory, another version, another type, an oversized file', () => {
    assert.throws(() => readKeyFileSync(path.join(dir, 'absent.json')), { code: 'ERR_KEYFILE_INVALID' });
    assert.throws(() => readKeyFileSync(dir), { code: 'ERR_KEYFILE_INVALID' });
    const k = generateKey('EdDSA');
    const f = path.join(dir, 'l.json');
    writeFileSync(f, JSON.stringify({ v: 2, jwk: exportJwk(k) }), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_KEYFILE_INVALID' });
    writeFileSync(f, JSON.stringify({ v: 1, type: 'other', jwk: exportJwk(k) }), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_KEYFILE_INVALID' });
    writeFileSync(f, ' '.repeat(70 * 1024), { mode: 0o600 });
    assert.throws(() => readKeyFileSync(f), { code: 'ERR_INPUT_TOO_LARGE' });
  });
});
