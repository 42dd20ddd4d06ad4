import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import {
  buildJwks,
  exportJwk,
  generateKey,
  importJwk,
  type KeyAlg,
  thumbprint,
} from '../../src/keys/index.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc7638.json', import.meta.url), 'utf8')) as {
  name: string;
  jwk: Record<string, string>;
  thumbprint: string;
}[];

describe('RFC 7638 thumbprint vectors', () => {
  for (const v of vectors) {
    it(v.name, () => {
      assert.equal(thumbprint(v.jwk as never), v.thumbprint);
    });
  }
});

const ALGS: KeyAlg[] = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'PS256',
  'HS256',
  'HS512',
  'A128GCM',
  'A256GCM',
];

describe('generateKey + JWK round trip', () => {
  for (const alg of ALGS) {
    it(`round-trips ${alg} and agrees with jose on the thumbprint`, async () => {
      const k = generateKey(alg);
      const priv = exportJwk(k, { private: true });
      const back = importJwk(priv);
      assert.equal(back.kid, k.kid);
      assert.equal(back.alg, alg);
      if (k.kty === 'oct') {
        assert.ok(back.secretKey?.export().equals(k.secretKey?.export() as Buffer));
        return;
      }
      assert.equal(k.kid, await jose.calculateJwkThumbprint(exportJwk(k) as jose.JWK));
      const viaJose = await jose.exportJWK(await jose.importJWK(exportJwk(k) as jose.JWK, alg));
      assert.equal(viaJose.x ?? viaJose.n, (exportJwk(k).x ?? exportJwk(k).n) as string);
    });
  }
});

describe('importJwk rejections', () => {
  it('rejects an EC key labelled EdDSA', () => {
    const jwk = exportJwk(generateKey('ES256'));
    assert.throws(() => importJwk({ ...jwk, alg: 'EdDSA' }), { code: 'ERR_KEY_ALG_MISMATCH' });
  });
  it('rejects a P-256 key labelled ES384', () => {
    const jwk = exportJwk(generateKey('ES256'));
    assert.throws(() => importJwk({ ...jwk, alg: 'ES384' }), { code: 'ERR_KEY_ALG_MISMATCH' });
  });
  it('rejects private material when a public key is asked for', () => {
    const jwk = exportJwk(generateKey('EdDSA'), { private: true });
    assert.throws(() => importJwk(jwk, { public: true }), { code: 'ERR_KEY_INVALID' });
  });
  it('rejects a 128-bit HS256 secret', () => {
    assert.throws(
      () => importJwk({ kty: 'oct', alg: 'HS256', k: Buffer.alloc(16, 1).toString('base64url') }),
      {
        code: 'ERR_KEY_TOO_WEAK',
      },
    );
  });
  it('rejects a key published for the other use (RFC 7517 4.2)', () => {
    const jwk = exportJwk(generateKey('ES256'));
    assert.throws(() => importJwk({ ...jwk, use: 'enc' }), { code: 'ERR_KEY_ALG_MISMATCH' });
    const aes = exportJwk(generateKey('A256GCM'), { private: true });
    assert.throws(() => importJwk({ ...aes, use: 'sig' }), { code: 'ERR_KEY_ALG_MISMATCH' });
  });
  it('needs an AES key of exactly the enc size, and base64url k', () => {
    const k32 = Buffer.alloc(32, 1).toString('base64url');
    assert.throws(() => importJwk({ kty: 'oct', alg: 'A128GCM', k: k32 }), { code: 'ERR_KEY_ALG_MISMATCH' });
    assert.equal(importJwk({ kty: 'oct', alg: 'A256GCM', k: k32 }).secretKey?.symmetricKeySize, 32);
    assert.throws(() => importJwk({ kty: 'oct', alg: 'HS256', k: `${k32}+/` }), { code: 'ERR_KEY_INVALID' });
  });
  it('rejects an Ed25519 JWK with a bad x and an EC point off the curve', () => {
    assert.throws(() => importJwk({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', x: 'AAAA' }), {
      code: 'ERR_KEY_INVALID',
    });
    const jwk = exportJwk(generateKey('ES256'));
    const y = Buffer.from(jwk.y as string, 'base64url');
    y[5] = (y[5] as number) ^ 1;
    assert.throws(() => importJwk({ ...jwk, y: y.toString('base64url') }), { code: 'ERR_KEY_INVALID' });
  });
  it('rejects a 1024-bit RSA key', () => {
    assert.throws(() => generateKey('RS256', { modulusLength: 1024 }), { code: 'ERR_KEY_TOO_WEAK' });
  });
});

describe('buildJwks', () => {
  it('publishes public keys only, never oct keys or private members', () => {
    const jwks = buildJwks([generateKey('EdDSA'), generateKey('HS256'), generateKey('ES256')]);
    assert.equal(jwks.keys.length, 2);
    for (const k of jwks.keys) {
      assert.equal(k.d, undefined);
      assert.equal(k.use, 'sig');
      assert.ok(k.kid && k.alg);
    }
  });
});
