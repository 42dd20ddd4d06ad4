import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateKeyPair as dpopKeyPair, generateProof } from 'dpop';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import { accessTokenHash, createDpopProof, normalizeHtu, verifyDpopProof } from '../../src/dpop/index.js';
import { signCompact } from '../../src/dpop/jws.js';
import { jwkThumbprint } from '../../src/dpop/thumbprint.js';
import { MapReplayStore } from './helpers.js';

const HTU = 'https://api.example.com/resource';
const T = 1_800_000_000;
const clock = () => T;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const pubJwk = (k: KeyObject) =>
  (k.type === 'public' ? k : createPublicKey(k)).export({ format: 'jwk' }) as Record<string, unknown>;

function opts(extra: Record<string, unknown> = {}) {
  return { htm: 'GET', htu: HTU, replay: new MapReplayStore(), clock, ...extra };
}

async function rejects(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

/** A hand-built proof for hostile cases (header and claims fully controlled). */
function forge(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject = ec.privateKey,
) {
  return signCompact(header, JSON.stringify(claims), key);
}
const baseClaims = () => ({ jti: `j-${Math.random()}`, htm: 'GET', htu: HTU, iat: T });

describe('DPoP proof round trip', () => {
  for (const [name, kp] of [
    ['ES256', ec],
    ['EdDSA', ed],
  ] as const) {
    it(`verifies its own ${name} proof and returns the RFC 7638 thumbprint`, async () => {
      const proof = createDpopProof({
        privateKey: kp.privateKey,
        htm: 'GET',
        htu: HTU,
        accessToken: 'at-1',
        nonce: 'n1',
        clock,
      });
      const r = await verifyDpopProof(proof, opts({ accessToken: 'at-1', nonce: 'n1' }));
      assert.equal(r.jkt, await calculateJwkThumbprint(pubJwk(kp.publicKey) as never));
      assert.equal(r.claims.ath, accessTokenHash('at-1'));
      assert.equal(r.claims.htm, 'GET');
      assert.equal(r.jwk.d, undefined);
    });
  }

  it('computes the RFC 7638 3.1 example thumbprint', () => {
    const v = JSON.parse(readFileSync('test/dpop/vectors/rfc7638.json', 'utf8')) as {
      jwk: Record<string, unknown>;
      thumbprint: string;
    };
    assert.equal(jwkThumbprint(v.jwk), v.thumbprint);
  });

  it('gives every proof a distinct jti', async () => {
    const a = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    const b = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    const ra = await verifyDpopProof(a, opts());
    const rb = await verifyDpopProof(b, opts());
    assert.notEqual(ra.claims.jti, rb.claims.jti);
  });
});

describe('DPoP interop', () => {
  for (const alg of ['ES256', 'Ed25519', 'PS256'] as const) {
    it(`accepts a ${alg} proof made by panva/dpop generateProof`, async () => {
      const kp = await dpopKeyPair(alg);
      const proof = await generateProof(kp, HTU, 'POST', 'srv-nonce', 'the-access-token');
      const r = await verifyDpopProof(proof, {
        htm: 'POST',
        htu: HTU,
        replay: new MapReplayStore(),
        accessToken: 'the-access-token',
        nonce: 'srv-nonce',
      });
      const jwk = (await crypto.subtle.exportKey('jwk', kp.publicKey)) as Record<string, unknown>;
      assert.equal(r.jkt, await calculateJwkThumbprint(jwk as never));
    });
  }

  it('produces proofs jose verifies with EmbeddedJWK', async () => {
    for (const kp of [ec, ed]) {
      const proof = createDpopProof({ privateKey: kp.privateKey, htm: 'PUT', htu: HTU, accessToken: 'x' });
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });
      assert.equal(payload.htm, 'PUT');
      assert.equal(payload.ath, accessTokenHash('x'));
      assert.equal((protectedHeader.jwk as Record<string, unknown> | undefined)?.d, undefined);
    }
  });
});

describe('htu normalisation (RFC 3986 6.2, RFC 9449 4.3)', () => {
  const vectors = JSON.parse(readFileSync('test/dpop/vectors/htu.json', 'utf8')) as {
    proof: string;
    request: string;
    match: boolean;
  }[];
  for (const v of vectors) {
    it(`${v.match ? 'matches' : 'does not match'} ${v.proof} against ${v.request}`, () => {
      const a = normalizeHtu(v.proof);
      assert.equal(a !== undefined && a === normalizeHtu(v.request), v.match);
    });
  }
});

describe('DPoP proof rejections', () => {
  it('rejects a proof whose jwk carries the private key (ERR_DPOP_JWK_INVALID)', async () => {
    for (const kp of [ec, ed]) {
      const jwk = kp.privateKey.export({ format: 'jwk' });
      const alg = kp === ec ? 'ES256' : 'EdDSA';
      await rejects(
        verifyDpopProof(forge({ typ: 'dpop+jwt', alg, jwk }, baseClaims(), kp.privateKey), opts()),
        'ERR_DPOP_JWK_INVALID',
      );
    }
  });
  it('rejects a proof without a jwk or with one that does not fit alg (ERR_DPOP_JWK_INVALID)', async () => {
    await rejects(
      verifyDpopProof(forge({ typ: 'dpop+jwt', alg: 'ES256' }, baseClaims()), opts()),
      'ERR_DPOP_JWK_INVALID',
    );
    await rejects(
      verifyDpopProof(
        forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: pubJwk(ed.publicKey) }, baseClaims()),
        opts(),
      ),
      'ERR_DPOP_JWK_INVALID',
    );
    await rejects(
      verifyDpopProof(
        forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'oct', k: 'c2VjcmV0' } }, baseClaims()),
        opts(),
      ),
      'ERR_DPOP_JWK_INVALID',
    );
  });
  it('rejects an RSA jwk shorter than 2048 bits (ERR_DPOP_JWK_INVALID)', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await rejects(
      verifyDpopProof(
        forge({ typ: 'dpop+jwt', alg: 'RS256', jwk: pubJwk(weak.publicKey) }, baseClaims(), weak.privateKey),
        opts(),
      ),
      'ERR_DPOP_JWK_INVALID',
    );
  });
  it('rejects a symmetric alg (ERR_DPOP_ALG_INVALID)', async () => {
    for (const alg of ['HS256', 'HS512']) {
      const h = Buffer.from(
        JSON.stringify({ typ: 'dpop+jwt', alg, jwk: { kty: 'oct', k: 'c2VjcmV0' } }),
      ).toString('base64url');
      const p = Buffer.from(JSON.stringify(baseClaims())).toString('base64url');
      const sig = createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url');
      await rejects(verifyDpopProof(`${h}.${p}.${sig}`, opts()), 'ERR_DPOP_ALG_INVALID');
    }
  });
  it('rejects alg none and an alg outside the allow-list (ERR_DPOP_ALG_INVALID)', async () => {
    const h = Buffer.from(
      JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: pubJwk(ec.publicKey) }),
    ).toString('base64url');
    const p = Buffer.from(JSON.stringify(baseClaims())).toString('base64url');
    await rejects(verifyDpopProof(`${h}.${p}.`, opts()), 'ERR_DPOP_ALG_INVALID');
    const es = forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: pubJwk(ec.publicKey) }, baseClaims());
    await rejects(verifyDpopProof(es, opts({ algorithms: ['EdDSA'] })), 'ERR_DPOP_ALG_INVALID');
  });
  it('rejects a wrong typ', async () => {
    await rejects(
      verifyDpopProof(forge({ typ: 'JWT', alg: 'ES256', jwk: pubJwk(ec.publicKey) }, baseClaims()), opts()),
      'ERR_DPOP_PROOF_INVALID',
    );
  });
  it('rejects a proof signed by a key other than the embedded one', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await rejects(
      verifyDpopProof(
        forge({ typ: 'dpop+jwt', alg: 'ES256', jwk: pubJwk(other.publicKey) }, baseClaims()),
        opts(),
      ),
      'ERR_DPOP_PROOF_INVALID',
    );
  });
  it('rejects garbage and oversize input', async () => {
    await rejects(verifyDpopProof('not.a.jwt', opts()), 'ERR_DPOP_PROOF_INVALID');
    await rejects(verifyDpopProof('a'.repeat(9000), opts()), 'ERR_DPOP_PROOF_INVALID');
  });
  it('rejects a wrong htm', async () => {
    const proof = createDpopProof({ privateKey: ec.privateKey, htm: 'POST', htu: HTU, clock });
    await rejects(verifyDpopProof(proof, opts()), 'ERR_DPOP_HTM_MISMATCH');
  });
  it('rejects a wrong htu', async () => {
    const proof = createDpopProof({
      privateKey: ec.privateKey,
      htm: 'GET',
      htu: 'https://api.example.com/other',
      clock,
    });
    await rejects(verifyDpopProof(proof, opts()), 'ERR_DPOP_HTU_MISMATCH');
  });
  it('rejects a reused jti', async () => {
    const replay = new MapReplayStore();
    const proof = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    await verifyDpopProof(proof, opts({ replay }));
    await rejects(verifyDpopProof(proof, opts({ replay })), 'ERR_DPOP_REPLAYED');
  });
  it('rejects a stale iat and one from the future', async () => {
    const old = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock: () => T - 120 });
    await rejects(verifyDpopProof(old, opts()), 'ERR_DPOP_IAT_INVALID');
    const future = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock: () => T + 60 });
    await rejects(verifyDpopProof(future, opts()), 'ERR_DPOP_IAT_INVALID');
  });
  it('rejects a missing or wrong ath', async () => {
    const none = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    await rejects(verifyDpopProof(none, opts({ accessToken: 'at' })), 'ERR_DPOP_ATH_MISMATCH');
    const wrong = createDpopProof({
      privateKey: ec.privateKey,
      htm: 'GET',
      htu: HTU,
      accessToken: 'other',
      clock,
    });
    await rejects(verifyDpopProof(wrong, opts({ accessToken: 'at' })), 'ERR_DPOP_ATH_MISMATCH');
  });
  it('rejects a token bound to another key', async () => {
    const proof = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    await rejects(
      verifyDpopProof(proof, opts({ expectedJkt: jwkThumbprint(pubJwk(ed.publicKey)) })),
      'ERR_DPOP_KEY_MISMATCH',
    );
  });
  it('rejects a missing or wrong nonce', async () => {
    const proof = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    await rejects(verifyDpopProof(proof, opts({ nonce: 'n1' })), 'ERR_DPOP_NONCE_REQUIRED');
    const wrong = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, nonce: 'n0', clock });
    await rejects(verifyDpopProof(wrong, opts({ nonce: 'n1' })), 'ERR_DPOP_NONCE_REQUIRED');
  });
  it('does not consume the jti of a proof rejected for another reason', async () => {
    const replay = new MapReplayStore();
    const proof = createDpopProof({ privateKey: ec.privateKey, htm: 'GET', htu: HTU, clock });
    await rejects(verifyDpopProof(proof, opts({ replay, accessToken: 'at' })), 'ERR_DPOP_ATH_MISMATCH');
    assert.equal(replay.seen.size, 0);
  });
});
