import assert from 'node:assert/strict';
import { createCipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decryptJwe, encryptJwe } from '../../src/jose/index.js';
import type { JweEnc } from '../../src/jose/types.js';
import { importJwk } from '../../src/keys/index.js';
import type { Jwk } from '../../src/keys/types.js';

interface JweVector {
  name: string;
  jwk: Jwk & { k: string; alg: JweEnc };
  plaintext: string;
  protectedHeader: Record<string, unknown>;
  protected: string;
  iv: string;
  ciphertext: string;
  tag: string;
  compact: string;
}

const doc = JSON.parse(readFileSync(new URL('./vectors/rfc7520-5.6.json', import.meta.url), 'utf8')) as {
  source: string;
  cases: JweVector[];
};

describe(doc.source, () => {
  for (const v of doc.cases) {
    const raw = Buffer.from(v.jwk.k, 'base64url');
    const key = createSecretKey(raw);

    it(`${v.name}: the compact serialisation is its five parts (RFC 7516 7.1, empty encrypted key for dir)`, () => {
      assert.equal(v.compact, `${v.protected}..${v.iv}.${v.ciphertext}.${v.tag}`);
      assert.equal(Buffer.from(v.protected, 'base64url').toString('utf8'), JSON.stringify(v.protectedHeader));
    });

    it(`${v.name}: raw AES-GCM with the RFC's IV gives the RFC's ciphertext and tag (the vector itself)`, () => {
      const c = createCipheriv(
        `aes-${raw.length * 8}-gcm` as 'aes-128-gcm',
        raw,
        Buffer.from(v.iv, 'base64url'),
      );
      c.setAAD(Buffer.from(v.protected, 'ascii'));
      const ct = Buffer.concat([c.update(v.plaintext, 'utf8'), c.final()]);
      assert.equal(ct.toString('base64url'), v.ciphertext);
      assert.equal(c.getAuthTag().toString('base64url'), v.tag);
    });

    it(`${v.name}: decryptJwe gives back the plaintext byte for byte and the protected header`, () => {
      const r = decryptJwe(v.compact, key);
      assert.ok(r.plaintext.equals(Buffer.from(v.plaintext, 'utf8')));
      assert.deepEqual({ ...r.header }, v.protectedHeader);
    });

    it(`${v.name}: the RFC's JWK (alg ${v.jwk.alg}, use enc) imports and decrypts it`, () => {
      const k = importJwk(v.jwk, { alg: v.jwk.alg });
      assert.equal(k.kid, v.jwk.kid);
      assert.equal(decryptJwe(v.compact, k.secretKey as never).plaintext.toString('utf8'), v.plaintext);
    });

    it(`${v.name}: encryptJwe with the same key and header round-trips (its IV is its own)`, () => {
      const t = encryptJwe(v.plaintext, key, { enc: v.jwk.alg, kid: v.jwk.kid });
      assert.equal(decryptJwe(t, key).plaintext.toString('utf8'), v.plaintext);
    });

    it(`${v.name}: a flipped tag, ciphertext or IV bit -> ERR_JWE_DECRYPTION_FAILED`, () => {
      const flip = (s: string) => {
        const b = Buffer.from(s, 'base64url');
        b[b.length >> 1] = (b[b.length >> 1] as number) ^ 0x01;
        return b.toString('base64url');
      };
      for (const bad of [
        `${v.protected}..${v.iv}.${v.ciphertext}.${flip(v.tag)}`,
        `${v.protected}..${v.iv}.${flip(v.ciphertext)}.${v.tag}`,
        `${v.protected}..${flip(v.iv)}.${v.ciphertext}.${v.tag}`,
      ])
        assert.throws(() => decryptJwe(bad, key), { code: 'ERR_JWE_DECRYPTION_FAILED' });
    });

    it(`${v.name}: a key of another size -> ERR_JOSE_KEY_MISMATCH, before any decryption`, () => {
      assert.throws(() => decryptJwe(v.compact, createSecretKey(randomBytes(32))), {
        code: 'ERR_JOSE_KEY_MISMATCH',
      });
    });
  }
});
