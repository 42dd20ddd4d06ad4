import assert from 'node:assert/strict';
import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { decryptJwe, encryptJwe } from '../../src/jose/index.js';
import { concatKdf } from '../../src/jose/jwe/ecdh-es.js';

interface KdfCase {
  name: string;
  enc: string;
  keyBits: number;
  ephemeral: Record<string, string>;
  recipient: Record<string, string>;
  apu: string;
  apv: string;
  z: string;
  derivedKey: string;
}

const vectors = JSON.parse(readFileSync(new URL('./vectors/rfc7518-c.json', import.meta.url), 'utf8')) as {
  cases: KdfCase[];
};

describe('ECDH-ES Concat KDF known answers (RFC 7518 Appendix C)', () => {
  for (const v of vectors.cases) {
    it(`${v.name}: Z from both sides, then the derived key`, () => {
      const eph = createPrivateKey({ key: v.ephemeral as never, format: 'jwk' });
      const rcp = createPrivateKey({ key: v.recipient as never, format: 'jwk' });
      const z1 = diffieHellman({ privateKey: eph, publicKey: createPublicKey(rcp) });
      const z2 = diffieHellman({ privateKey: rcp, publicKey: createPublicKey(eph) });
      assert.equal(z1.toString('base64url'), v.z);
      assert.equal(z2.toString('base64url'), v.z);
      const key = concatKdf(
        Buffer.from(v.z, 'base64url'),
        v.keyBits,
        v.enc,
        Buffer.from(v.apu, 'base64url'),
        Buffer.from(v.apv, 'base64url'),
      );
      assert.equal(key.toString('base64url'), v.derivedKey);
    });
  }
});

const pt = new TextEncoder().encode('{"hello":"reader"}');

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
}

/** Re-encodes a token's protected header (the tag then fails, but the header checks run first). */
function withHeader(token: string, edit: (h: Record<string, unknown>) => void): string {
  const parts = token.split('.');
  const h = header(token);
  edit(h);
  parts[0] = Buffer.from(JSON.stringify(h)).toString('base64url');
  return parts.join('.');
}

describe('JWE ECDH-ES interop with jose', () => {
  for (const crv of ['X25519', 'P-256'] as const) {
    const pair = () =>
      crv === 'X25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });

    it(`${crv}: jose decrypts what encryptJwe made, apu/apv included`, async () => {
      const { publicKey, privateKey } = pair();
      const token = encryptJwe(pt, publicKey, {
        alg: 'ECDH-ES',
        enc: 'A256GCM',
        apu: Buffer.from('issuer'),
        apv: Buffer.from('door-7'),
      });
      assert.equal(token.split('.')[1], '');
      const r = await compactDecrypt(token, privateKey);
      assert.deepEqual(Buffer.from(r.plaintext), Buffer.from(pt));
      assert.equal(r.protectedHeader.alg, 'ECDH-ES');
      assert.deepEqual(
        Object.keys(r.protectedHeader.epk!).sort(),
        crv === 'X25519' ? ['crv', 'kty', 'x'] : ['crv', 'kty', 'x', 'y'],
      );
    });

    it(`${crv}: decryptJwe reads what jose CompactEncrypt made`, async () => {
      const { publicKey, privateKey } = pair();
      for (const enc of ['A128GCM', 'A256GCM'] as const) {
        const token = await new CompactEncrypt(pt)
          .setProtectedHeader({ alg: 'ECDH-ES', enc })
          .setKeyManagementParameters({ apu: Buffer.from('a'), apv: Buffer.from('b') })
          .encrypt(publicKey);
        assert.deepEqual(Buffer.from(decryptJwe(token, privateKey).plaintext), Buffer.from(pt));
      }
    });

    it(`${crv}: another recipient's key fails with ERR_JWE_DECRYPTION_FAILED`, () => {
      const token = encryptJwe(pt, pair().publicKey, { alg: 'ECDH-ES', enc: 'A256GCM' });
      assert.throws(() => decryptJwe(token, pair().privateKey), { code: 'ERR_JWE_DECRYPTION_FAILED' });
    });
  }
});

describe('JWE ECDH-ES refuses hostile headers and keys', () => {
  const x = generateKeyPairSync('x25519');
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const xToken = encryptJwe(pt, x.publicKey, { alg: 'ECDH-ES', enc: 'A256GCM' });
  const pToken = encryptJwe(pt, p.publicKey, { alg: 'ECDH-ES', enc: 'A256GCM' });

  it('rejects an epk carrying a private member', () => {
    const d = randomBytes(32).toString('base64url');
    const t = withHeader(xToken, (h) => {
      (h.epk as Record<string, string>).d = d;
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('rejects an epk with a member a public key does not have', () => {
    const t = withHeader(xToken, (h) => {
      (h.epk as Record<string, string>).kid = 'x';
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('rejects a P-256 epk that is not on the curve (invalid-curve attack)', () => {
    const t = withHeader(pToken, (h) => {
      const epk = h.epk as Record<string, string>;
      const y = Buffer.from(epk.y!, 'base64url');
      y[31]! ^= 1;
      epk.y = y.toString('base64url');
    });
    assert.throws(() => decryptJwe(t, p.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('rejects the all-zero X25519 point (an all-zero shared secret)', () => {
    const t = withHeader(xToken, (h) => {
      (h.epk as Record<string, string>).x = Buffer.alloc(32).toString('base64url');
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('rejects oversized or missing coordinates', () => {
    for (const v of [Buffer.alloc(33, 9).toString('base64url'), '', 42, undefined]) {
      const t = withHeader(xToken, (h) => {
        (h.epk as Record<string, unknown>).x = v;
      });
      assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
    }
  });

  it('rejects a missing epk', () => {
    const t = withHeader(xToken, (h) => {
      delete h.epk;
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('rejects an epk on another curve than the key with ERR_JOSE_KEY_MISMATCH', () => {
    assert.throws(() => decryptJwe(pToken, x.privateKey), { code: 'ERR_JOSE_KEY_MISMATCH' });
  });

  it('rejects an epk on a curve offtoken does not agree keys on', () => {
    const t = withHeader(xToken, (h) => {
      (h.epk as Record<string, string>).crv = 'X448';
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JOSE_NOT_SUPPORTED' });
  });

  it('rejects an oversized apu', () => {
    const t = withHeader(xToken, (h) => {
      h.apu = randomBytes(65).toString('base64url');
    });
    assert.throws(() => decryptJwe(t, x.privateKey), { code: 'ERR_JWE_INVALID' });
    assert.throws(
      () => encryptJwe(pt, x.publicKey, { alg: 'ECDH-ES', enc: 'A256GCM', apu: randomBytes(65) }),
      {
        code: 'ERR_JOSE_NOT_SUPPORTED',
      },
    );
  });

  it('rejects a non-empty encrypted key', () => {
    const parts = xToken.split('.');
    parts[1] = 'AAAA';
    assert.throws(() => decryptJwe(parts.join('.'), x.privateKey), { code: 'ERR_JWE_INVALID' });
  });

  it('keeps the algorithms apart: a secret key never meets ECDH-ES, a private key never dir', () => {
    assert.throws(() => decryptJwe(xToken, createSecretKey(randomBytes(32))), {
      code: 'ERR_JOSE_KEY_MISMATCH',
    });
    const dir = encryptJwe(pt, createSecretKey(randomBytes(32)), { enc: 'A256GCM' });
    assert.throws(() => decryptJwe(dir, x.privateKey), { code: 'ERR_JOSE_KEY_MISMATCH' });
    assert.throws(() => decryptJwe(xToken, x.publicKey), { code: 'ERR_JOSE_KEY_MISMATCH' });
    const ed = generateKeyPairSync('ed25519');
    assert.throws(() => encryptJwe(pt, ed.publicKey, { alg: 'ECDH-ES', enc: 'A256GCM' }), {
      code: 'ERR_JOSE_KEY_MISMATCH',
    });
  });
});
