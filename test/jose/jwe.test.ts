import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import { decryptJwe, encryptJwe } from '../../src/jose/index.js';
import type { JweEnc } from '../../src/jose/types.js';

const SIZES: Record<JweEnc, number> = { A128GCM: 16, A192GCM: 24, A256GCM: 32 };
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('JWE dir + AES-GCM: interop with jose both ways', () => {
  for (const enc of Object.keys(SIZES) as JweEnc[]) {
    const raw = randomBytes(SIZES[enc]);
    const key = createSecretKey(raw);
    it(`${enc}: jose encrypts -> offtoken decrypts`, async () => {
      const t = await new jose.CompactEncrypt(new TextEncoder().encode('secret ü'))
        .setProtectedHeader({ alg: 'dir', enc, kid: 'k1' })
        .encrypt(raw);
      const r = decryptJwe(t, key);
      assert.equal(r.plaintext.toString('utf8'), 'secret ü');
      assert.equal(r.header.kid, 'k1');
    });
    it(`${enc}: offtoken encrypts -> jose decrypts`, async () => {
      const t = encryptJwe('secret ü', key, { enc, kid: 'k2', typ: 'x+jwt' });
      const r = await jose.compactDecrypt(t, raw);
      assert.equal(new TextDecoder().decode(r.plaintext), 'secret ü');
      assert.equal(r.protectedHeader.typ, 'x+jwt');
    });
  }
});

describe('JWE hostile input', () => {
  const raw = randomBytes(32);
  const key = createSecretKey(raw);
  const good = encryptJwe('hello', key, { enc: 'A256GCM' });
  const [h, , iv, ct, tag] = good.split('.') as [string, string, string, string, string];

  it('refuses a tampered header, IV, ciphertext or tag, and another key', () => {
    const flip = (s: string) => {
      const b = Buffer.from(s, 'base64url');
      b[0] = (b[0] as number) ^ 1;
      return b.toString('base64url');
    };
    for (const t of [
      `${h}..${flip(iv)}.${ct}.${tag}`,
      `${h}..${iv}.${flip(ct)}.${tag}`,
      `${h}..${iv}.${ct}.${flip(tag)}`,
    ])
      assert.throws(() => decryptJwe(t, key), { code: 'ERR_JWE_DECRYPTION_FAILED' });
    assert.throws(() => decryptJwe(good, createSecretKey(randomBytes(32))), {
      code: 'ERR_JWE_DECRYPTION_FAILED',
    });
    const h2 = b64('{"alg":"dir","enc":"A256GCM","kid":"x"}');
    assert.throws(() => decryptJwe(`${h2}..${iv}.${ct}.${tag}`, key), { code: 'ERR_JWE_DECRYPTION_FAILED' });
  });
  it('refuses a truncated tag or a short IV', () => {
    const short = Buffer.from(tag, 'base64url').subarray(0, 12).toString('base64url');
    assert.throws(() => decryptJwe(`${h}..${iv}.${ct}.${short}`, key), { code: 'ERR_JWE_INVALID' });
    const iv8 = Buffer.from(iv, 'base64url').subarray(0, 8).toString('base64url');
    assert.throws(() => decryptJwe(`${h}..${iv8}.${ct}.${tag}`, key), { code: 'ERR_JWE_INVALID' });
  });
  it('refuses algorithms other than dir, zip, unknown enc, an encrypted key with dir, and a wrong-size key', () => {
    const hdr = (o: object) => b64(JSON.stringify(o));
    assert.throws(() => decryptJwe(`${hdr({ alg: 'A256KW', enc: 'A256GCM' })}..${iv}.${ct}.${tag}`, key), {
      code: 'ERR_JOSE_NOT_SUPPORTED',
    });
    assert.throws(
      () => decryptJwe(`${hdr({ alg: 'dir', enc: 'A256GCM', zip: 'DEF' })}..${iv}.${ct}.${tag}`, key),
      {
        code: 'ERR_JOSE_NOT_SUPPORTED',
      },
    );
    assert.throws(() => decryptJwe(`${hdr({ alg: 'dir', enc: 'A256CBC-HS512' })}..${iv}.${ct}.${tag}`, key), {
      code: 'ERR_JOSE_NOT_SUPPORTED',
    });
    assert.throws(() => decryptJwe(`${h}.AAAA.${iv}.${ct}.${tag}`, key), { code: 'ERR_JWE_INVALID' });
    assert.throws(() => decryptJwe(good, createSecretKey(randomBytes(16))), {
      code: 'ERR_JOSE_KEY_MISMATCH',
    });
    assert.throws(() => encryptJwe('x', createSecretKey(randomBytes(16)), { enc: 'A256GCM' }), {
      code: 'ERR_JOSE_KEY_MISMATCH',
    });
  });
  it('refuses the wrong part count, non-base64url, oversized tokens and duplicate header names', () => {
    assert.throws(() => decryptJwe(`${h}..${iv}.${ct}`, key), { code: 'ERR_JWE_INVALID' });
    assert.throws(() => decryptJwe(`${h}..${iv}.${ct}+.${tag}`, key), { code: 'ERR_JWE_INVALID' });
    assert.throws(() => decryptJwe(`${h}..${iv}.${'A'.repeat(20000)}.${tag}`, key), {
      code: 'ERR_INPUT_TOO_LARGE',
    });
    const dup = '{"alg":"dir","enc":"A256GCM","enc":"A128GCM"}';
    assert.throws(() => decryptJwe(`${b64(dup)}..${iv}.${ct}.${tag}`, key), {
      code: 'ERR_JOSE_HEADER_INVALID',
    });
    assert.throws(() => decryptJwe(42 as never, key), { code: 'ERR_JWE_INVALID' });
  });
});
