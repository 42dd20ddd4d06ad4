import { createHmac, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { JwtVerifier } from '../../src/jose/jwt/verifier.js';
import { verifyJwt } from '../../src/jose/jwt/verify.js';
import { ALGS, asymmetricParams } from '../../src/jose/lib/alg.js';
import type { JwsAlg, JwtPolicy } from '../../src/jose/types.js';
import { generateKey } from '../../src/keys/jwk.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/*
 * JWT sign and verify per algorithm, all in one process so the figures compare as ratios:
 * - `node:crypto`: the physical limit - one crypto.sign/verify (or HMAC + timingSafeEqual) over the same
 *   signing input bytes with pre-made KeyObjects; no parsing, no encoding, no claim checks.
 * - `offtoken`: signJwt / verifyJwt with the policy below (alg allow-list, iss, aud, exp).
 * - `offtoken (cache)`: a JwtVerifier with its bounded verified-token cache on, verifying the same token.
 * - `jose`: SignJWT / jwtVerify (asynchronous) with the same KeyObjects and the same checks.
 * - `fast-jwt`: createSigner / createVerifier with its cache off and the same checks.
 */
const BENCH_ALGS: readonly JwsAlg[] = ['HS256', 'ES256', 'EdDSA', 'RS256'];
const ISS = 'https://issuer.example';
const AUD = 'https://api.example';

export const suite: BenchSuite = {
  name: 'jose',
  async setup(): Promise<BenchCase[]> {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: ISS,
      sub: 'user-7f3a9c',
      aud: AUD,
      scope: 'orders:read orders:write',
      iat: now,
      exp: now + 3600,
      jti: 'b1c9e4f0a7d24c1e9b5a3f6d',
    };
    const cases: BenchCase[] = [];
    for (const alg of BENCH_ALGS) {
      const key = generateKey(alg);
      const signKey = (key.secretKey ?? key.privateKey) as KeyObject;
      const verifyKey = (key.secretKey ?? key.publicKey) as KeyObject;
      const spec = ALGS[alg];
      const token = signJwt(claims, signKey, { alg, kid: key.kid });
      const dot = token.lastIndexOf('.');
      const input = Buffer.from(token.slice(0, dot), 'latin1');
      const sig = Buffer.from(token.slice(dot + 1), 'base64url');
      const policy: JwtPolicy = { algorithms: [alg], issuer: ISS, audience: AUD };
      const cached = new JwtVerifier({ key: verifyKey, policy, cache: { max: 1000 } });

      // fast-jwt takes PEM or a secret buffer and imports it once into its own KeyObject.
      const secret = key.secretKey?.export();
      const fjSignKey = secret ?? (key.privateKey!.export({ format: 'pem', type: 'pkcs8' }) as string);
      const fjVerifyKey = secret ?? (key.publicKey!.export({ format: 'pem', type: 'spki' }) as string);
      const fjSign = createSigner({ key: fjSignKey, algorithm: alg, kid: key.kid, noTimestamp: true });
      const fjVerify = createVerifier({
        key: fjVerifyKey,
        algorithms: [alg],
        allowedIss: ISS,
        allowedAud: AUD,
        cache: false,
      });

      const rawSign =
        spec.kind === 'hmac'
          ? () => createHmac(spec.hash!, signKey).update(input).digest()
          : () => sign(spec.hash, input, asymmetricParams(spec, signKey));
      const rawVerify =
        spec.kind === 'hmac'
          ? () => timingSafeEqual(createHmac(spec.hash!, verifyKey).update(input).digest(), sig)
          : () => verify(spec.hash, input, asymmetricParams(spec, verifyKey), sig);

      // Each peer's output is checked once, so a broken case cannot pass as a fast one.
      if (!rawVerify()) throw new Error(`raw ${alg} verify failed`);
      await jwtVerify(token, verifyKey, { algorithms: [alg], issuer: ISS, audience: AUD });
      fjVerify(token);
      verifyJwt(fjSign(claims), verifyKey, policy);
      cached.verify(token);

      const s = `jwt sign ${alg}`;
      cases.push(
        { case: s, impl: 'node:crypto', fn: rawSign },
        { case: s, impl: 'offtoken', fn: () => signJwt(claims, signKey, { alg, kid: key.kid }) },
        {
          case: s,
          impl: 'jose',
          fn: () => new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(signKey),
        },
        { case: s, impl: 'fast-jwt', fn: () => fjSign(claims) },
      );
      const v = `jwt verify ${alg}`;
      cases.push(
        { case: v, impl: 'node:crypto', fn: rawVerify },
        { case: v, impl: 'offtoken', fn: () => verifyJwt(token, verifyKey, policy) },
        { case: v, impl: 'offtoken (cache)', fn: () => cached.verify(token) },
        {
          case: v,
          impl: 'jose',
          fn: () => jwtVerify(token, verifyKey, { algorithms: [alg], issuer: ISS, audience: AUD }),
        },
        { case: v, impl: 'fast-jwt', fn: () => fjVerify(token) },
      );
    }
    return cases;
  },
};
