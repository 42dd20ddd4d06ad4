import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, jwtVerify, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  createDpopProof,
  DpopNonceManager,
  dpopBindingForTokenRequest,
  dpopPlugin,
  jwkThumbprint,
} from '../../src/dpop/index.js';
import { MapReplayStore } from './helpers.js';

// A resource server over real HTTP (Fastify on 127.0.0.1:0, real fetch) protecting /data with the plugin,
// and a minimal token endpoint using dpopBindingForTokenRequest the way the authority's /token does.
const as = generateKeyPairSync('ed25519');
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientJkt = jwkThumbprint(
  createPublicKey(client.privateKey).export({ format: 'jwk' }) as Record<string, unknown>,
);

let app: FastifyInstance;
let base: string;
const nonces = new DpopNonceManager();
const store = new MapReplayStore();

async function accessToken(jkt: string | undefined) {
  const t = new SignJWT({ scope: 'read', ...(jkt ? { cnf: { jkt } } : {}) })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
    .setIssuer('https://as.test')
    .setAudience('https://rs.test')
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime('5m');
  return t.sign(as.privateKey);
}

before(async () => {
  app = Fastify();
  app.post('/token', async (req, reply) => {
    try {
      const b = await dpopBindingForTokenRequest(req, {
        tokenEndpoint: `${base}/token`,
        store,
        nonceManager: nonces,
      });
      reply.header('DPoP-Nonce', nonces.current());
      return { access_token: await accessToken(b?.jkt), token_type: b ? 'DPoP' : 'Bearer' };
    } catch (e) {
      const code = (e as { code: string }).code;
      reply.header('DPoP-Nonce', nonces.current());
      return reply
        .code(400)
        .send({ error: code === 'ERR_DPOP_NONCE_REQUIRED' ? 'use_dpop_nonce' : 'invalid_dpop_proof' });
    }
  });
  await app.register(async (rs) => {
    await rs.register(dpopPlugin, {
      store,
      nonceManager: nonces,
      verifyAccessToken: async (t: string) =>
        (
          await jwtVerify(t, as.publicKey, {
            issuer: 'https://as.test',
            audience: 'https://rs.test',
            typ: 'at+jwt',
          })
        ).payload as Record<string, unknown>,
    });
    rs.get('/data', async (req) => ({ sub: req.dpop?.claims.sub, jkt: req.dpop?.proof.jkt }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});
after(() => app.close());

async function getToken(): Promise<{ token: string; nonce: string }> {
  // RFC 9449 8: the first attempt without a nonce is answered with use_dpop_nonce and a DPoP-Nonce.
  let r = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { dpop: createDpopProof({ privateKey: client.privateKey, htm: 'POST', htu: `${base}/token` }) },
  });
  assert.equal(r.status, 400);
  assert.equal(((await r.json()) as { error: string }).error, 'use_dpop_nonce');
  const nonce = r.headers.get('dpop-nonce')!;
  r = await fetch(`${base}/token`, {
    method: 'POST',
    headers: {
      dpop: createDpopProof({ privateKey: client.privateKey, htm: 'POST', htu: `${base}/token`, nonce }),
    },
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { access_token: string; token_type: string };
  assert.equal(body.token_type, 'DPoP');
  return { token: body.access_token, nonce: r.headers.get('dpop-nonce')! };
}

describe('DPoP over real HTTP', () => {
  it('issues a DPoP-bound token (cnf.jkt) after a nonce round trip, and the resource server accepts it', async () => {
    const { token, nonce } = await getToken();
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: `${base}/data?x=1`,
      accessToken: token,
      nonce,
    });
    const r = await fetch(`${base}/data?x=1`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    assert.equal(r.status, 200);
    // RFC 9449 8.2: the current nonce rides on successful responses too
    assert.ok(nonces.isValid(r.headers.get('dpop-nonce')));
    assert.deepEqual(await r.json(), { sub: 'alice', jkt: clientJkt });
  });

  it('rejects a replayed proof with invalid_dpop_proof', async () => {
    const { token, nonce } = await getToken();
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: `${base}/data`,
      accessToken: token,
      nonce,
    });
    assert.equal(
      (await fetch(`${base}/data`, { headers: { authorization: `DPoP ${token}`, dpop: proof } })).status,
      200,
    );
    const r = await fetch(`${base}/data`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate')!, /^DPoP error="invalid_dpop_proof"/);
    assert.equal(((await r.json()) as { error_description: string }).error_description, 'ERR_DPOP_REPLAYED');
  });

  it('asks for a nonce with use_dpop_nonce and a DPoP-Nonce header', async () => {
    const { token } = await getToken();
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: `${base}/data`,
      accessToken: token,
    });
    const r = await fetch(`${base}/data`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate')!, /error="use_dpop_nonce"/);
    assert.ok(nonces.isValid(r.headers.get('dpop-nonce')));
  });

  it('rejects a stolen token presented with another key (ERR_DPOP_KEY_MISMATCH)', async () => {
    const { token, nonce } = await getToken();
    const proof = createDpopProof({
      privateKey: intruder.privateKey,
      htm: 'GET',
      htu: `${base}/data`,
      accessToken: token,
      nonce,
    });
    const r = await fetch(`${base}/data`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate')!, /error="invalid_token"/);
    assert.equal(
      ((await r.json()) as { error_description: string }).error_description,
      'ERR_DPOP_KEY_MISMATCH',
    );
  });

  it('rejects a bearer token and a token without cnf.jkt', async () => {
    const bearer = await accessToken(undefined);
    const nonce = nonces.current();
    let r = await fetch(`${base}/data`, { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal(
      ((await r.json()) as { error_description: string }).error_description,
      'ERR_DPOP_REQUEST_INVALID',
    );
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'GET',
      htu: `${base}/data`,
      accessToken: bearer,
      nonce,
    });
    r = await fetch(`${base}/data`, { headers: { authorization: `DPoP ${bearer}`, dpop: proof } });
    assert.equal(r.status, 401);
    assert.equal(
      ((await r.json()) as { error_description: string }).error_description,
      'ERR_DPOP_KEY_MISMATCH',
    );
  });

  it('rejects a proof made for another method', async () => {
    const { token, nonce } = await getToken();
    const proof = createDpopProof({
      privateKey: client.privateKey,
      htm: 'POST',
      htu: `${base}/data`,
      accessToken: token,
      nonce,
    });
    const r = await fetch(`${base}/data`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    assert.equal(
      ((await r.json()) as { error_description: string }).error_description,
      'ERR_DPOP_HTM_MISMATCH',
    );
  });
});

describe('DPoP interop with oauth4webapi', () => {
  it('accepts a protected-resource request made by oauth4webapi with its DPoP handle (nonce retry included)', async () => {
    const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as oauth.CryptoKeyPair;
    const jkt = await calculateJwkThumbprint((await crypto.subtle.exportKey('jwk', kp.publicKey)) as never);
    const token = await accessToken(jkt);
    const DPoP = oauth.DPoP({}, kp);
    const call = () =>
      oauth.protectedResourceRequest(token, 'GET', new URL(`${base}/data`), undefined, undefined, {
        DPoP,
        [oauth.allowInsecureRequests]: true,
      });
    let r: Response;
    try {
      r = await call();
    } catch (e) {
      // oauth4webapi surfaces use_dpop_nonce as an error after caching the nonce; the retry carries it
      assert.ok(oauth.isDPoPNonceError(e));
      r = await call();
    }
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { sub: 'alice', jkt });
  });
});

describe('DpopNonceManager', () => {
  it('accepts the current and previous window, rejects older and forged nonces', () => {
    let now = 1_000_000;
    const m = new DpopNonceManager({ rotationSeconds: 60, clock: () => now });
    const n = m.current();
    assert.ok(m.isValid(n));
    now += 60;
    assert.notEqual(m.current(), n);
    assert.ok(m.isValid(n));
    now += 60;
    assert.equal(m.isValid(n), false);
    assert.equal(m.isValid(`${n.slice(0, -2)}AA`), false);
    assert.equal(new DpopNonceManager({ clock: () => now }).isValid(m.current()), false);
    assert.equal(m.isValid(undefined), false);
  });
});
