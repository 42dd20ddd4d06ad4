import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  post,
  startServer,
  type TestClient,
  type TestServer,
} from './helpers.js';

async function jwks(s: TestServer) {
  return createLocalJWKSet((await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
}

async function verifyWithJose(s: TestServer, token: string) {
  const r = await jwtVerify(token, await jwks(s), { issuer: s.base, typ: 'at+jwt' });
  return r.payload;
}

describe('authority over real HTTP', () => {
  let s: TestServer;
  let svc: TestClient;
  let p256: TestClient;
  let tokenUrl: string;
  before(async () => {
    s = await startServer();
    const policy = { scopes: ['read', 'write'], audiences: [s.base, 'https://api.example'] };
    svc = addClient(s, 'svc-a', 'ed25519', policy);
    p256 = addClient(s, 'svc-p256', 'p256', policy);
    tokenUrl = `${s.base}/token`;
  });
  after(() => s.close());

  it('publishes RFC 8414 metadata naming this issuer', async () => {
    const m = (await (await fetch(`${s.base}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(m.issuer, s.base);
    assert.equal(m.token_endpoint, tokenUrl);
    assert.deepEqual(m.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  });

  it('jwt-bearer grant issues an at+jwt that jose verifies with the published JWKS', async () => {
    const r = await post(tokenUrl, {
      grant_type: JWT_BEARER,
      assertion: assertion(svc, tokenUrl),
      scope: 'read write',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.token_type, 'Bearer');
    const p = await verifyWithJose(s, r.body.access_token as string);
    assert.equal(p.sub, 'svc-a');
    assert.equal(p.client_id, 'svc-a');
    assert.equal(p.scope, 'read write');
    assert.equal(typeof p.jti, 'string');
    const st = (p.status as { status_list: { idx: number; uri: string } }).status_list;
    assert.equal(st.uri, `${s.base}/status-lists/1`);
    assert.equal(typeof st.idx, 'number');
  });

  it('jwt-bearer accepts an ES256 client and aud = issuer', async () => {
    const r = await post(tokenUrl, { grant_type: JWT_BEARER, assertion: assertion(p256, s.base) });
    assert.equal(r.status, 200, r.text);
    await verifyWithJose(s, r.body.access_token as string);
  });

  it('client_credentials with private_key_jwt issues a token', async () => {
    const r = await post(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(svc, tokenUrl),
      audience: 'https://api.example',
    });
    assert.equal(r.status, 200, r.text);
    const p = await jwtVerify(r.body.access_token as string, await jwks(s), {
      audience: 'https://api.example',
    });
    assert.equal(p.payload.client_id, 'svc-a');
  });

  const rejections: [string, (c: TestClient, url: string) => Record<string, string>, string, string][] = [
    [
      'wrong aud',
      (c) => ({ assertion: assertion(c, 'https://elsewhere/token') }),
      'invalid_grant',
      'wrong_audience',
    ],
    [
      'expired',
      (c, u) => ({
        assertion: assertion(c, u, {
          iat: Math.floor(Date.now() / 1000) - 400,
          exp: Math.floor(Date.now() / 1000) - 100,
        }),
      }),
      'invalid_grant',
      'expired',
    ],
    [
      'lifetime too long',
      (c, u) => ({ assertion: assertion(c, u, { exp: Math.floor(Date.now() / 1000) + 3600 }) }),
      'invalid_grant',
      'lifetime_too_long',
    ],
    [
      'no exp',
      (c, u) => ({ assertion: assertion(c, u, { exp: undefined }) }),
      'invalid_grant',
      'missing_exp',
    ],
    [
      'no jti',
      (c, u) => ({ assertion: assertion(c, u, { jti: undefined }) }),
      'invalid_grant',
      'missing_jti',
    ],
    [
      'unknown client',
      (c, u) => ({ assertion: assertion({ ...c, id: 'nobody' }, u) }),
      'invalid_grant',
      'unknown_client',
    ],
    [
      'unknown kid',
      (c, u) => ({ assertion: assertion(c, u, {}, 'other-kid') }),
      'invalid_grant',
      'bad_signature',
    ],
    [
      'sub differs from iss',
      (c, u) => ({ assertion: assertion(c, u, { sub: 'someone-else' }) }),
      'invalid_grant',
      'wrong_issuer',
    ],
    ['malformed assertion', () => ({ assertion: 'not.a.jwt' }), 'invalid_grant', 'malformed'],
  ];
  for (const [name, make, error, reason] of rejections) {
    it(`jwt-bearer rejects ${name} with ${error} (${reason})`, async () => {
      const r = await post(tokenUrl, { grant_type: JWT_BEARER, ...make(svc, tokenUrl) });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, error);
      assert.ok(String(r.body.error_description).startsWith(`${reason}:`), String(r.body.error_description));
    });
  }

  it('jwt-bearer rejects a replayed jti', async () => {
    const a = assertion(svc, tokenUrl);
    assert.equal((await post(tokenUrl, { grant_type: JWT_BEARER, assertion: a })).status, 200);
    const r = await post(tokenUrl, { grant_type: JWT_BEARER, assertion: a });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /^replayed:/);
  });

  it('jwt-bearer rejects a bad signature (another key, same kid)', async () => {
    const forger = addClient(s, 'forger');
    const a = assertion({ id: svc.id, kid: svc.kid, privateKey: forger.privateKey }, tokenUrl);
    const r = await post(tokenUrl, { grant_type: JWT_BEARER, assertion: a });
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /^bad_signature:/);
  });

  it('rejects a disabled client', async () => {
    const c = addClient(s, 'to-disable');
    s.app.authority.db.setClientDisabled('to-disable', true);
    const r = await post(tokenUrl, { grant_type: JWT_BEARER, assertion: assertion(c, tokenUrl) });
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /^disabled_client:/);
  });

  it('client_credentials with a bad client assertion is invalid_client 401', async () => {
    const r = await post(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(svc, 'https://wrong/token'),
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
  });

  it('client_credentials without client_assertion_type is invalid_client', async () => {
    const r = await post(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion: assertion(svc, tokenUrl),
    });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
  });

  it('unknown grant type is unsupported_grant_type', async () => {
    const r = await post(tokenUrl, { grant_type: 'password' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'unsupported_grant_type');
  });

  it('a malformed scope is invalid_scope', async () => {
    const r = await post(tokenUrl, {
      grant_type: JWT_BEARER,
      assertion: assertion(svc, tokenUrl),
      scope: 'a"b',
    });
    assert.equal(r.body.error, 'invalid_scope');
  });

  it('missing grant_type is invalid_request', async () => {
    const r = await post(tokenUrl, { foo: 'bar' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });

  it('a repeated parameter is invalid_request', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&grant_type=password',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  });

  it('bad JSON, an oversized body and 404 are RFC 6749 JSON without a stack', async () => {
    const bad = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    const badBody = (await bad.json()) as Record<string, unknown>;
    // forms only: JSON is refused as a media type before it is parsed
    assert.equal(bad.status, 415);
    assert.deepEqual(Object.keys(badBody).sort(), ['error', 'error_description']);
    assert.equal(badBody.error, 'invalid_request');
    const big = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=${'x'.repeat(200_000)}`,
    });
    assert.equal(big.status, 413);
    const bigText = await big.text();
    assert.equal(JSON.parse(bigText).error, 'invalid_request');
    assert.doesNotMatch(bigText, /at .*\.(ts|js):\d+/);
    const nf = await fetch(`${s.base}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: string }).error, 'invalid_request');
  });
});
