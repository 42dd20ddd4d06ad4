import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import { signJws, signJwt, verifyJws, verifyJwt } from '../../src/jose/index.js';
import type { JwsAlg } from '../../src/jose/types.js';
import { buildJwks, exportJwk, generateKey, LocalJwks } from '../../src/keys/index.js';

// Interop with panva/jose both ways for every algorithm, with keys made by either side.
const ALGS: JwsAlg[] = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const NOW = Math.floor(Date.now() / 1000);
const claims = { sub: 'alice', scope: 'read write', nested: { a: [1, 2, { b: 'ü€😀' }] } };
const policy = (alg: JwsAlg) => ({
  algorithms: [alg],
  issuer: 'https://issuer.example',
  audience: 'api',
  typ: 'JWT',
  requireExp: true,
  now: NOW + 1,
});

interface Pair {
  sign: KeyObject;
  verify: KeyObject;
  kid: string;
}

function offtokenKeys(alg: JwsAlg): Pair {
  const k = generateKey(alg);
  return k.kty === 'oct'
    ? { sign: k.secretKey as KeyObject, verify: k.secretKey as KeyObject, kid: k.kid }
    : { sign: k.privateKey as KeyObject, verify: k.publicKey as KeyObject, kid: k.kid };
}

async function joseKeys(alg: JwsAlg): Promise<Pair> {
  if (alg.startsWith('HS')) {
    const jwk = await jose.exportJWK(await jose.generateSecret(alg, { extractable: true }));
    const k = createSecretKey(Buffer.from(jwk.k as string, 'base64url'));
    return { sign: k, verify: k, kid: 'jose-hs' };
  }
  const { privateKey } = await jose.generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}),
  });
  const jwk = await jose.exportJWK(privateKey);
  const priv = createPrivateKey({ key: jwk as never, format: 'jwk' });
  return { sign: priv, verify: createPublicKey(priv), kid: await jose.calculateJwkThumbprint(jwk) };
}

async function joseKey(k: KeyObject, alg: JwsAlg) {
  return jose.importJWK(k.export({ format: 'jwk' }) as jose.JWK, alg);
}

for (const origin of ['offtoken', 'jose'] as const) {
  describe(`interop with jose (keys made by ${origin})`, () => {
    for (const alg of ALGS) {
      it(`${alg}: jose signs -> offtoken verifies`, async () => {
        const keys = origin === 'offtoken' ? offtokenKeys(alg) : await joseKeys(alg);
        const token = await new jose.SignJWT(claims)
          .setProtectedHeader({ alg, kid: keys.kid, typ: 'JWT' })
          .setIssuer('https://issuer.example')
          .setAudience(['api', 'other'])
          .setIssuedAt(NOW)
          .setExpirationTime(NOW + 300)
          .sign(await joseKey(keys.sign, alg));
        const v = verifyJwt(token, keys.verify, policy(alg));
        assert.deepEqual(v.payload.nested, claims.nested);
        assert.equal(v.header.kid, keys.kid);
        // a tampered payload is refused
        const [h, , s] = token.split('.');
        const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
        assert.throws(() => verifyJwt(forged, keys.verify, policy(alg)), {
          code: 'ERR_JWS_SIGNATURE_INVALID',
        });
      });

      it(`${alg}: offtoken signs -> jose verifies`, async () => {
        const keys = origin === 'offtoken' ? offtokenKeys(alg) : await joseKeys(alg);
        const token = signJwt(claims, keys.sign, {
          alg,
          kid: keys.kid,
          issuer: 'https://issuer.example',
          audience: 'api',
          iat: NOW,
          expiresIn: 300,
        });
        const r = await jose.jwtVerify(token, await joseKey(keys.verify, alg), {
          algorithms: [alg],
          issuer: 'https://issuer.example',
          audience: 'api',
          typ: 'JWT',
          currentDate: new Date((NOW + 1) * 1000),
        });
        assert.deepEqual(r.payload.nested, claims.nested);
        assert.equal(r.protectedHeader.kid, keys.kid);
        // raw JWS with a non-JSON payload too
        const jws = signJws(new Uint8Array([0, 1, 2, 255]), keys.sign, { alg });
        const c = await jose.compactVerify(jws, await joseKey(keys.verify, alg));
        assert.deepEqual([...c.payload], [0, 1, 2, 255]);
      });
    }
  });
}

describe('interop with jose through a JWKS', () => {
  const asym = ALGS.filter((a) => !a.startsWith('HS'));
  const keys = asym.map((a) => generateKey(a));
  const jwks = buildJwks(keys);

  it('jose selects offtoken-published keys by kid for every asymmetric alg', async () => {
    const set = jose.createLocalJWKSet(jwks as jose.JSONWebKeySet);
    for (const k of keys) {
      const t = signJwt({ sub: k.alg }, k.privateKey as KeyObject, {
        alg: k.alg as JwsAlg,
        kid: k.kid,
        expiresIn: 60,
      });
      const r = await jose.jwtVerify(t, set, { algorithms: [k.alg] });
      assert.equal(r.payload.sub, k.alg);
    }
  });

  it('offtoken LocalJwks selects keys for jose-signed tokens by kid', async () => {
    const local = new LocalJwks(jwks);
    for (const k of keys) {
      const t = await new jose.SignJWT({ sub: k.alg })
        .setProtectedHeader({ alg: k.alg, kid: k.kid })
        .setExpirationTime('1m')
        .sign(await jose.importJWK(exportJwk(k, { private: true }) as jose.JWK, k.alg));
      const v = verifyJwt(t, (h) => local.resolve(h), { algorithms: [k.alg as JwsAlg] });
      assert.equal(v.payload.sub, k.alg);
    }
  });

  it('refuses a token signed as PS256 with an RSA key when only RS256 is allowed', () => {
    const rs = keys.find((k) => k.alg === 'RS256');
    const t = signJwt({}, rs?.privateKey as KeyObject, { alg: 'PS256', expiresIn: 60 });
    assert.throws(() => verifyJws(t, rs?.publicKey as KeyObject, { algorithms: ['RS256'] }), {
      code: 'ERR_JOSE_ALG_NOT_ALLOWED',
    });
  });
});
