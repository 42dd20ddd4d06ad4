import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import { signJws, verifyJws } from '../../src/jose/index.js';
import {
  exportJwk,
  exportPem,
  generateKey,
  importPem,
  type KeyAlg,
  thumbprint,
} from '../../src/keys/index.js';

const ASYM: KeyAlg[] = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'PS256'];

describe('PEM import/export', () => {
  for (const alg of ASYM) {
    it(`round-trips ${alg} through PKCS#8 and SPKI, and jose reads both`, async () => {
      const k = generateKey(alg);
      const priv = exportPem(k, { private: true });
      const pub = exportPem(k);
      assert.match(priv, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.match(pub, /^-----BEGIN PUBLIC KEY-----\n/);
      const p = importPem(priv, alg);
      const q = importPem(pub, alg);
      // the default kid is the RFC 7638 thumbprint, the same from either half
      assert.equal(p.kid, k.kid);
      assert.equal(q.kid, k.kid);
      assert.equal(q.privateKey, undefined);
      assert.ok(p.publicKey?.equals(k.publicKey as never));
      const jws = signJws('hello', p.privateKey as never, { alg: alg as 'EdDSA' });
      assert.equal(
        verifyJws(jws, q.publicKey as never, { algorithms: [alg as 'EdDSA'] }).payload.toString(),
        'hello',
      );
      const jp = await jose.importPKCS8(priv, alg);
      const jq = await jose.importSPKI(pub, alg);
      assert.equal(await jose.calculateJwkThumbprint(await jose.exportJWK(jq)), k.kid);
      const fromJose = await new jose.CompactSign(new TextEncoder().encode('x'))
        .setProtectedHeader({ alg })
        .sign(jp);
      verifyJws(fromJose, q.publicKey as never, { algorithms: [alg as 'EdDSA'] });
      assert.equal(exportPem(importPem(await jose.exportSPKI(jq), alg)), pub);
    });
  }

  it('keeps an explicit kid', () => {
    const k = generateKey('EdDSA');
    assert.equal(importPem(exportPem(k), 'EdDSA', { kid: 'k1' }).kid, 'k1');
    assert.equal(thumbprint(exportJwk(k)), k.kid);
  });

  const mismatches: [string, KeyAlg, KeyAlg][] = [
    ['a P-256 key as ES384', 'ES256', 'ES384'],
    ['a P-384 key as ES256', 'ES384', 'ES256'],
    ['an Ed25519 key as ES256', 'EdDSA', 'ES256'],
    ['an RSA key as EdDSA', 'RS256', 'EdDSA'],
    ['an EC key as RS256', 'ES256', 'RS256'],
    ['an RSA public key as HS256', 'RS256', 'HS256'],
  ];
  for (const [name, made, as] of mismatches) {
    it(`rejects ${name}`, () => {
      assert.throws(() => importPem(exportPem(generateKey(made)), as), { code: 'ERR_KEY_ALG_MISMATCH' });
    });
  }

  it('rejects a 1024-bit RSA key', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.throws(() => importPem(pem, 'RS256'), { code: 'ERR_KEY_TOO_WEAK' });
  });

  it('rejects legacy PKCS#1 / SEC1 labels, garbage, trailing data and oversized input', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    assert.throws(() => importPem(pkcs1, 'RS256'), { code: 'ERR_KEY_INVALID' });
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'sec1' })
      .toString();
    assert.throws(() => importPem(sec1, 'ES256'), { code: 'ERR_KEY_INVALID' });
    const good = exportPem(generateKey('EdDSA'));
    assert.throws(() => importPem(`${good}extra`, 'EdDSA'), { code: 'ERR_KEY_INVALID' });
    assert.throws(() => importPem(good.replace('MC', 'M!'), 'EdDSA'), { code: 'ERR_KEY_INVALID' });
    assert.throws(() => importPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'EdDSA'), {
      code: 'ERR_KEY_INVALID',
    });
    assert.throws(
      () =>
        importPem(`-----BEGIN PUBLIC KEY-----\n${'A'.repeat(20000)}\n-----END PUBLIC KEY-----\n`, 'RS256'),
      {
        code: 'ERR_INPUT_TOO_LARGE',
      },
    );
    assert.throws(() => importPem(42 as never, 'EdDSA'), { code: 'ERR_KEY_INVALID' });
  });

  it('rejects a private key where a public one is asked for', () => {
    assert.throws(
      () => importPem(exportPem(generateKey('EdDSA'), { private: true }), 'EdDSA', { public: true }),
      {
        code: 'ERR_KEY_INVALID',
      },
    );
  });

  it('has no PEM form for secret keys, and no private PEM for a public key', () => {
    assert.throws(() => exportPem(generateKey('HS256'), { private: true }), { code: 'ERR_KEY_INVALID' });
    const pubOnly = importPem(exportPem(generateKey('ES256')), 'ES256');
    assert.throws(() => exportPem(pubOnly, { private: true }), { code: 'ERR_KEY_INVALID' });
  });
});

describe('generateKey coverage', () => {
  const expect: [KeyAlg, string, (k: ReturnType<typeof generateKey>) => unknown][] = [
    ['EdDSA', 'OKP', (k) => k.publicKey?.asymmetricKeyType],
    ['ES256', 'EC', (k) => k.publicKey?.asymmetricKeyDetails?.namedCurve],
    ['ES384', 'EC', (k) => k.publicKey?.asymmetricKeyDetails?.namedCurve],
    ['ES512', 'EC', (k) => k.publicKey?.asymmetricKeyDetails?.namedCurve],
    ['RS256', 'RSA', (k) => k.publicKey?.asymmetricKeyDetails?.modulusLength],
    ['PS512', 'RSA', (k) => k.publicKey?.asymmetricKeyDetails?.modulusLength],
    ['HS256', 'oct', (k) => k.secretKey?.symmetricKeySize],
    ['HS384', 'oct', (k) => k.secretKey?.symmetricKeySize],
    ['HS512', 'oct', (k) => k.secretKey?.symmetricKeySize],
    ['A128GCM', 'oct', (k) => k.secretKey?.symmetricKeySize],
    ['A192GCM', 'oct', (k) => k.secretKey?.symmetricKeySize],
    ['A256GCM', 'oct', (k) => k.secretKey?.symmetricKeySize],
  ];
  const detail: Record<string, unknown> = {
    EdDSA: 'ed25519',
    ES256: 'prime256v1',
    ES384: 'secp384r1',
    ES512: 'secp521r1',
    RS256: 2048,
    PS512: 2048,
    HS256: 32,
    HS384: 48,
    HS512: 64,
    A128GCM: 16,
    A192GCM: 24,
    A256GCM: 32,
  };
  for (const [alg, kty, probe] of expect) {
    it(`generates ${alg} (${kty}, ${detail[alg]})`, () => {
      const k = generateKey(alg);
      assert.equal(k.kty, kty);
      assert.equal(probe(k), detail[alg]);
      assert.equal(k.use, alg.startsWith('A') ? 'enc' : 'sig');
    });
  }
  it('makes a larger RSA key on request and two keys never repeat', () => {
    assert.equal(
      generateKey('RS256', { modulusLength: 3072 }).publicKey?.asymmetricKeyDetails?.modulusLength,
      3072,
    );
    assert.notEqual(generateKey('EdDSA').kid, generateKey('EdDSA').kid);
    assert.ok(
      !generateKey('HS256')
        .secretKey?.export()
        .equals(generateKey('HS256').secretKey?.export() as Buffer),
    );
  });
  it('rejects an unknown alg', () => {
    assert.throws(() => generateKey('none' as KeyAlg), { code: 'ERR_KEY_INVALID' });
  });
});
