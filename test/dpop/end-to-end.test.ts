import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair as dpopKeyPair, generateProof } from 'dpop';
import Fastify, { type FastifyInstance } from 'fastify';
import * as oauth from 'oauth4webapi';
import { DownscopedTokenDeriver, DownscopedTokenVerifier } from '../../src/downscope/index.js';
import { sealDir } from '../../src/downscope/jwe.js';
import { loadResourceServerKey } from '../../src/downscope/rs-key.js';
import { createDpopProof, dpopPlugin, jwkThumbprint } from '../../src/dpop/index.js';
import { isOfftokenError } from '../../src/errors/base.js';
import { verifyJwt } from '../../src/jose/index.js';
import { LocalJwks } from '../../src/keys/local_jwks.js';
import { certificateThumbprint, mtlsPlugin } from '../../src/mtls/index.js';
import { buildServer } from '../../src/server/app.js';
import { normaliseClientJwk, registerClient } from '../../src/server/clients.js';
import { resolveConfig } from '../../src/server/config.js';
import { signCompact } from '../../src/status-list/jws.js';
import { MemoryStore } from '../../src/stores/memory.js';
import { type HttpsResult, httpsCall, type KeyCert, makePki } from '../mtls/certs.js';

// The three protections of issue 6 end to end, over real HTTPS: the offtoken authority (buildServer, TLS with
// optional client certificates) issues DPoP-bound, certificate-bound and intermediary tokens; a separate
// Fastify resource server enforces them with dpopPlugin, mtlsPlugin and DownscopedTokenVerifier.
const pki = makePki(['alice', 'mallory']);
const tls = {
  key: pki.server.key,
  cert: pki.server.cert,
  ca: pki.ca,
  requestCert: true,
  rejectUnauthorized: false,
};
const dataDir = mkdtempSync(join(tmpdir(), 'offtoken-e2e-'));
let skew = 0;
const clock = () => Date.now() / 1000 + skew;
const now = () => Math.floor(clock());

let as: FastifyInstance;
let rs: FastifyInstance;
let iss: string;
let tokenUrl: string;
let rsBase: string;
let jwks: LocalJwks;
const svc = { id: 'svc-e2e', ...generateKeyPairSync('ed25519'), kid: '' };
const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const dpopJkt = jwkThumbprint(
  createPublicKey(dpopKey.privateKey).export({ format: 'jwk' }) as Record<string, unknown>,
);
const intruderKey = generateKeyPairSync('ed25519');

function clientAssertion(): string {
  const t = now();
  return signCompact(
    { kid: svc.kid, typ: 'JWT' },
    {
      iss: svc.id,
      sub: svc.id,
      aud: tokenUrl,
      iat: t,
      exp: t + 60,
      jti: randomBytes(12).toString('base64url'),
    },
    svc.privateKey,
  );
}

const call = (
  url: string,
  o: Parameters<typeof httpsCall>[1] extends infer T ? Omit<T & object, 'ca'> : never,
) => httpsCall(url, { ca: pki.ca, ...o });

function tokenRequest(o: { dpop?: string; client?: KeyCert; scope?: string }): Promise<HttpsResult> {
  return call(tokenUrl, {
    ...(o.client ? { client: o.client } : {}),
    headers: o.dpop ? { dpop: o.dpop } : {},
    form: {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion(),
      ...(o.scope ? { scope: o.scope } : {}),
    },
  });
}

const proofFor = (
  key: KeyObject,
  htm: string,
  htu: string,
  extra: { accessToken?: string; nonce?: string } = {},
) => createDpopProof({ privateKey: key, htm, htu, clock, ...extra });

/** RFC 9449 8: the first DPoP request to /token is answered use_dpop_nonce; the retry carries the nonce. */
async function dpopToken(key: KeyObject = dpopKey.privateKey, scope?: string) {
  const first = await tokenRequest({ dpop: proofFor(key, 'POST', tokenUrl), ...(scope ? { scope } : {}) });
  assert.equal(first.status, 400);
  assert.equal(first.body.error, 'use_dpop_nonce');
  const nonce = first.headers['dpop-nonce'] as string;
  const r = await tokenRequest({
    dpop: proofFor(key, 'POST', tokenUrl, { nonce }),
    ...(scope ? { scope } : {}),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { body: r.body, token: r.body.access_token as string, nonce: r.headers['dpop-nonce'] as string };
}

const claimsOf = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;

before(async () => {
  const config = resolveConfig({ dataDir, port: 0, logLevel: 'silent', accessTokenTtl: 900 });
  as = await buildServer(config, { clock, https: tls });
  await as.listen({ host: '127.0.0.1', port: 0 });
  iss = as.authority.issuer;
  tokenUrl = `${iss}/token`;
  const jwk = normaliseClientJwk(svc.publicKey.export({ format: 'jwk' }));
  svc.kid = jwk.kid as string;
  registerClient(as.authority.db, svc.id, [jwk], now(), {
    scopes: ['read:bucket/acme/', 'write:bucket/acme/uploads/'],
    audiences: [as.authority.issuer],
  });
  // the resource servers share the authority's downscoping key file (created on first use)
  void as.authority.downscopeKey;

  // ---- the resource server: a user's app, trusting only the published JWKS and the shared key file
  jwks = new LocalJwks((await call(`${iss}/.well-known/jwks.json`, {})).body as never);
  const verifyAccessToken = (t: string) =>
    verifyJwt(t, (h) => jwks.resolve(h), {
      algorithms: ['EdDSA', 'ES256'],
      issuer: iss,
      typ: 'at+jwt',
      clock,
    }).payload;
  const rsKey = loadResourceServerKey(join(dataDir, 'downscope-key.json'));
  const downscoped = new DownscopedTokenVerifier({
    intermediaryVerifier: (h) => jwks.resolve(h as never),
    rsKey: (kid) => (kid === rsKey.kid ? rsKey.key : undefined),
    issuer: iss,
    clock,
  });
  rs = Fastify({ https: tls });
  await rs.register(async (s) => {
    await s.register(dpopPlugin, { store: new MemoryStore(), verifyAccessToken, clock });
    s.get('/dpop/data', async (req) => ({ sub: req.dpop?.claims.sub, jkt: req.dpop?.proof.jkt }));
  });
  await rs.register(async (s) => {
    await s.register(mtlsPlugin, { verifyAccessToken });
    s.get('/mtls/data', async (req) => ({ sub: req.mtlsToken?.claims.sub }));
  });
  rs.get('/objects/*', async (req, reply) => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    try {
      const v = downscoped.verify(m?.[1] ?? '', {
        resource: (req.params as { '*': string })['*'],
        permission: req.method === 'GET' ? 'read' : 'write',
      });
      return { sub: v.sub, exp: v.exp };
    } catch (e) {
      const code = isOfftokenError(e) ? e.code : 'ERR_INTERNAL';
      return reply.code(code === 'ERR_DOWNSCOPE_DENIED' ? 403 : 401).send({ error_description: code });
    }
  });
  await rs.listen({ host: '127.0.0.1', port: 0 });
  rsBase = `https://127.0.0.1:${(rs.server.address() as { port: number }).port}`;
});

after(async () => {
  await rs?.close();
  await as?.close();
  pki.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('end to end: DPoP through the authority and a resource server (HTTPS)', () => {
  it('issues a DPoP-bound token (cnf.jkt, token_type DPoP) after a DPoP-Nonce round trip', async () => {
    const { body, token, nonce } = await dpopToken();
    assert.equal(body.token_type, 'DPoP');
    assert.deepEqual(claimsOf(token).cnf, { jkt: dpopJkt });
    assert.equal(typeof nonce, 'string');
    const intro = as.authority.introspect(token, svc.id);
    assert.equal(intro.token_type, 'DPoP');
    assert.deepEqual(intro.cnf, { jkt: dpopJkt });
  });

  it('the resource server accepts the token with a proof of the same key', async () => {
    const { token } = await dpopToken();
    const url = `${rsBase}/dpop/data?page=2`;
    const r = await call(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: proofFor(dpopKey.privateKey, 'GET', url, { accessToken: token }),
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { sub: svc.id, jkt: dpopJkt });
  });

  it('rejects a replayed proof (ERR_DPOP_REPLAYED), another key (ERR_DPOP_KEY_MISMATCH), a missing ath', async () => {
    const { token } = await dpopToken();
    const url = `${rsBase}/dpop/data`;
    const proof = proofFor(dpopKey.privateKey, 'GET', url, { accessToken: token });
    const h = { authorization: `DPoP ${token}`, dpop: proof };
    assert.equal((await call(url, { headers: h })).status, 200);
    const replay = await call(url, { headers: h });
    assert.equal(replay.status, 401);
    assert.match(replay.headers['www-authenticate'] as string, /^DPoP error="invalid_dpop_proof"/);
    assert.equal(replay.body.error_description, 'ERR_DPOP_REPLAYED');
    const stolen = await call(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: proofFor(intruderKey.privateKey, 'GET', url, { accessToken: token }),
      },
    });
    assert.equal(stolen.body.error_description, 'ERR_DPOP_KEY_MISMATCH');
    const noAth = await call(url, {
      headers: { authorization: `DPoP ${token}`, dpop: proofFor(dpopKey.privateKey, 'GET', url) },
    });
    assert.equal(noAth.body.error_description, 'ERR_DPOP_ATH_MISMATCH');
    const asBearer = await call(url, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(asBearer.body.error_description, 'ERR_DPOP_REQUEST_INVALID');
  });

  it('rotates DPoP-Nonce: a nonce two rotation periods old is refused with use_dpop_nonce and a new nonce', async () => {
    const { nonce } = await dpopToken();
    skew += 601; // the authority's nonces rotate every 300 s and are accepted for one more period
    try {
      const r = await tokenRequest({ dpop: proofFor(dpopKey.privateKey, 'POST', tokenUrl, { nonce }) });
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'use_dpop_nonce');
      const fresh = r.headers['dpop-nonce'] as string;
      assert.notEqual(fresh, nonce);
      const ok = await tokenRequest({
        dpop: proofFor(dpopKey.privateKey, 'POST', tokenUrl, { nonce: fresh }),
      });
      assert.equal(ok.status, 200);
    } finally {
      skew -= 601;
    }
  });

  it('rejects a /token proof for another URI with invalid_dpop_proof', async () => {
    const { nonce } = await dpopToken();
    const r = await tokenRequest({ dpop: proofFor(dpopKey.privateKey, 'POST', `${iss}/other`, { nonce }) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_dpop_proof');
  });

  it('accepts proofs made by panva/dpop at /token and at the resource server', async () => {
    const kp = await dpopKeyPair('ES256');
    const first = await tokenRequest({ dpop: await generateProof(kp, tokenUrl, 'POST') });
    const nonce = first.headers['dpop-nonce'] as string;
    const r = await tokenRequest({ dpop: await generateProof(kp, tokenUrl, 'POST', nonce) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const token = r.body.access_token as string;
    const url = `${rsBase}/dpop/data`;
    const res = await call(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await generateProof(kp, url, 'GET', undefined, token),
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it("oauth4webapi's resource-server validation accepts the authority's token with our proof", async () => {
    const { token } = await dpopToken();
    const url = `${rsBase}/dpop/data`;
    const request = new Request(url, {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: proofFor(dpopKey.privateKey, 'GET', url, { accessToken: token }),
      },
    });
    const jwksBody = (await call(`${iss}/.well-known/jwks.json`, {})).body;
    const claims = await oauth.validateJwtAccessToken(
      { issuer: iss, jwks_uri: `${iss}/.well-known/jwks.json` },
      request,
      iss,
      { requireDPoP: true, [oauth.customFetch]: async () => Response.json(jwksBody) },
    );
    assert.equal(claims.sub, svc.id);
    assert.deepEqual(claims.cnf, { jkt: dpopJkt });
  });
});

describe('end to end: mTLS certificate-bound tokens (HTTPS, client certificates)', () => {
  const alice = pki.clients.alice as KeyCert;
  const mallory = pki.clients.mallory as KeyCert;

  it('binds the token to the client certificate used at /token (cnf.x5t#S256)', async () => {
    const r = await tokenRequest({ client: alice });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.token_type, 'Bearer');
    assert.deepEqual(claimsOf(r.body.access_token as string).cnf, {
      'x5t#S256': certificateThumbprint(alice.cert.toString()),
    });
    const ok = await call(`${rsBase}/mtls/data`, {
      client: alice,
      headers: { authorization: `Bearer ${r.body.access_token}` },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.sub, svc.id);
  });

  it('rejects the token on another certificate (ERR_MTLS_BINDING_MISMATCH) or none (ERR_MTLS_CERTIFICATE_MISSING)', async () => {
    const token = (await tokenRequest({ client: alice })).body.access_token as string;
    const other = await call(`${rsBase}/mtls/data`, {
      client: mallory,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(other.status, 401);
    assert.equal(other.body.error_description, 'ERR_MTLS_BINDING_MISMATCH');
    const none = await call(`${rsBase}/mtls/data`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(none.body.error_description, 'ERR_MTLS_CERTIFICATE_MISSING');
  });

  it('issues an unbound token without a client certificate, which the mTLS resource server refuses', async () => {
    const r = await tokenRequest({});
    assert.equal(claimsOf(r.body.access_token as string).cnf, undefined);
    const res = await call(`${rsBase}/mtls/data`, {
      client: alice,
      headers: { authorization: `Bearer ${r.body.access_token}` },
    });
    assert.equal(res.body.error_description, 'ERR_MTLS_BINDING_MISMATCH');
  });
});

describe('end to end: client-side downscoping through the authority', () => {
  const SCOPE = 'read:bucket/acme/ write:bucket/acme/uploads/';
  const exchange = (subject: string, o: { dpop?: string; client?: KeyCert } = {}) =>
    call(tokenUrl, {
      ...(o.client ? { client: o.client } : {}),
      headers: o.dpop ? { dpop: o.dpop } : {},
      form: {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        requested_token_type: 'urn:offtoken:params:oauth:token-type:intermediary',
      },
    });
  const get = (path: string, token: string) =>
    call(`${rsBase}/objects/${path}`, { headers: { authorization: `Bearer ${token}` } });

  let inter: { access_token: string; session_key: string; expires_in: number };
  before(async () => {
    const at = (await tokenRequest({ scope: SCOPE })).body.access_token as string;
    const r = await exchange(at);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.issued_token_type, 'urn:offtoken:params:oauth:token-type:intermediary');
    inter = r.body as typeof inter;
  });

  it('derives tokens locally that the resource server enforces with no per-token state', async () => {
    const d = new DownscopedTokenDeriver(inter.access_token, inter.session_key, { clock });
    const t = d.derive([{ resource_prefix: 'bucket/acme/reports/', permissions: ['read'] }]);
    const ok = await get('bucket/acme/reports/q3.csv', t);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.sub, svc.id);
    // the boundary narrows: the rest of the grant is out of reach of this token
    assert.equal((await get('bucket/acme/payroll.csv', t)).body.error_description, 'ERR_DOWNSCOPE_DENIED');
    // every derivation is fresh (new IV), yet each verifies
    const t2 = d.derive([{ resource_prefix: 'bucket/acme/reports/', permissions: ['read'] }]);
    assert.notEqual(t2, t);
    assert.equal((await get('bucket/acme/reports/q4.csv', t2)).status, 200);
  });

  it('rejects a boundary that widens the grant (ERR_DOWNSCOPE_WIDENS_GRANT)', async () => {
    const d = new DownscopedTokenDeriver(inter.access_token, inter.session_key, { clock });
    const wide = d.derive([{ resource_prefix: 'bucket/acme/', permissions: ['read', 'delete'] }]);
    assert.equal(
      (await get('bucket/acme/reports/q3.csv', wide)).body.error_description,
      'ERR_DOWNSCOPE_WIDENS_GRANT',
    );
  });

  it('rejects a tampered boundary (ERR_DOWNSCOPE_INVALID)', async () => {
    const t = new DownscopedTokenDeriver(inter.access_token, inter.session_key, { clock }).derive([
      { resource_prefix: 'bucket/acme/reports/', permissions: ['read'] },
    ]);
    const i = t.length - 30;
    const tampered = t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
    assert.equal(
      (await get('bucket/acme/reports/q3.csv', tampered)).body.error_description,
      'ERR_DOWNSCOPE_INVALID',
    );
  });

  it('rejects a boundary that outlives the intermediary, and every token once the intermediary expires', async () => {
    const key = Buffer.from(inter.session_key, 'base64url');
    const exp = claimsOf(inter.access_token).exp as number;
    const boundary = JSON.stringify({
      rules: [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
      exp: exp + 3600,
    });
    const forged = `${inter.access_token}~${sealDir(boundary, key, {})}`;
    assert.equal((await get('bucket/acme/x', forged)).body.error_description, 'ERR_DOWNSCOPE_EXPIRED');
    const t = new DownscopedTokenDeriver(inter.access_token, inter.session_key, { clock }).derive([
      { resource_prefix: 'bucket/acme/', permissions: ['read'] },
    ]);
    skew += inter.expires_in + 1;
    try {
      assert.equal((await get('bucket/acme/x', t)).body.error_description, 'ERR_DOWNSCOPE_EXPIRED');
    } finally {
      skew -= inter.expires_in + 1;
    }
  });

  it('exchanges a DPoP-bound token only with a proof of its key', async () => {
    const { token } = await dpopToken(dpopKey.privateKey, SCOPE);
    const bare = await exchange(token);
    assert.equal(bare.status, 400);
    assert.equal(bare.body.error, 'invalid_dpop_proof');
    const first = await exchange(token, { dpop: proofFor(dpopKey.privateKey, 'POST', tokenUrl) });
    assert.equal(first.body.error, 'use_dpop_nonce');
    const nonce = first.headers['dpop-nonce'] as string;
    const other = await exchange(token, {
      dpop: proofFor(intruderKey.privateKey, 'POST', tokenUrl, { nonce }),
    });
    assert.equal(other.status, 400);
    assert.equal(other.body.error, 'invalid_dpop_proof');
    const r = await exchange(token, { dpop: proofFor(dpopKey.privateKey, 'POST', tokenUrl, { nonce }) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body.session_key, 'string');
  });
});
