import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactEncrypt, compactDecrypt, EncryptJWT, jwtDecrypt, jwtVerify, SignJWT } from 'jose';
import { deriveOfflineKey, OFFLINE_TYP, OfflineTokenGenerator } from '../../src/offline/index.js';
import { macKey, sealedKey, signedKey } from './helpers.js';

describe('interop with jose', () => {
  it('jose.compactDecrypt and jwtDecrypt read our sealed tokens', async () => {
    const key = sealedKey(256);
    const token = new OfflineTokenGenerator({ key }).generate({ door: 'B12' }, { sub: 'alice' });
    const { plaintext, protectedHeader } = await compactDecrypt(token, key.secretKey!);
    assert.equal(protectedHeader.typ, OFFLINE_TYP);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(plaintext)).dat, { door: 'B12' });
    const { payload } = await jwtDecrypt(token, key.secretKey!, { typ: OFFLINE_TYP });
    assert.equal(payload.sub, 'alice');
  });

  it('jose reads a positional (password) token with the derived key', async () => {
    const token = new OfflineTokenGenerator('s3cret passphrase', 128, 60, 0).generate('hi');
    const k = deriveOfflineKey('s3cret passphrase', { mode: 'sealed', bits: 128 });
    const { payload } = await jwtDecrypt(token, k);
    assert.equal(payload.dat, 'hi');
  });

  it('jose.jwtVerify reads our signed and mac tokens', async () => {
    const ed = signedKey();
    const t1 = new OfflineTokenGenerator({ key: ed }).generate({ x: 1 }, { device: 'd1' });
    const r1 = await jwtVerify(t1, ed.publicKey!, { typ: OFFLINE_TYP, algorithms: ['EdDSA'] });
    assert.equal(r1.payload.device, 'd1');
    const hs = macKey();
    const t2 = new OfflineTokenGenerator({ key: hs, audience: 'gw' }).generate({ x: 2 });
    const r2 = await jwtVerify(t2, hs.secretKey!, {
      typ: OFFLINE_TYP,
      audience: 'gw',
      algorithms: ['HS256'],
    });
    assert.deepEqual(r2.payload.dat, { x: 2 });
  });

  it('our reader reads a sealed token jose produced with the same envelope', async () => {
    const key = sealedKey(192);
    const token = await new EncryptJWT({ dat: { door: 'C3' }, sub: 'bob' })
      .setProtectedHeader({ alg: 'dir', enc: 'A192GCM', typ: OFFLINE_TYP })
      .setJti('j'.repeat(22))
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('2m')
      .encrypt(key.secretKey!);
    const r = new OfflineTokenGenerator({ key }).verify(token);
    assert.deepEqual(r.payload, { door: 'C3' });
    assert.equal(r.claims.sub, 'bob');
  });

  it('our reader reads signed and mac tokens jose produced', async () => {
    for (const [key, alg] of [
      [signedKey(), 'EdDSA'],
      [macKey(), 'HS256'],
    ] as const) {
      const token = await new SignJWT({ dat: 'from-jose' })
        .setProtectedHeader({ alg, typ: OFFLINE_TYP, kid: key.kid })
        .setJti('k'.repeat(22))
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('2m')
        .sign(alg === 'EdDSA' ? key.privateKey! : key.secretKey!);
      assert.equal(new OfflineTokenGenerator({ key }).read(token), 'from-jose');
    }
  });

  it('a JWE with a compressed or foreign alg is refused', async () => {
    const key = sealedKey();
    const t = await new CompactEncrypt(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', typ: OFFLINE_TYP })
      .encrypt(key.secretKey!);
    assert.throws(() => new OfflineTokenGenerator({ key }).read(t), { code: 'ERR_OFFLINE_TOKEN_INVALID' });
  });
});
