import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { checkStatusOffline, verifyStatusListToken } from '../../src/status-list/index.js';
import { signCompact } from '../../src/status-list/jws.js';
import { publicPem, sign as signSaml } from '../federation/saml-helpers.js';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  post,
  startServer,
  type TestClient,
  type TestServer,
  TOKEN_EXCHANGE,
} from './helpers.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

const idp = generateKeyPairSync('ed25519');
const idpJwk = { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'EdDSA', use: 'sig' };
const IDP = 'https://token.actions.example';

function idToken(over: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signCompact(
    { kid: 'idp-1', typ: 'JWT' },
    {
      iss: IDP,
      aud: 'offtoken',
      sub: 'repo:acme/app:ref:refs/heads/main',
      repository: 'acme/app',
      repository_owner: 'acme',
      iat: now,
      exp: now + 90,
      ...over,
    },
    idp.privateKey,
  );
}

const API = 'https://api.acme.example';

describe('introspection, revocation, status lists, rotation, token exchange', () => {
  let s: TestServer;
  let svc: TestClient;
  let other: TestClient;
  before(async () => {
    s = await startServer({
      defaultAudience: API,
      federation: {
        providers: [
          {
            type: 'oidc',
            issuer: IDP,
            jwks: { keys: [idpJwk] },
            audiences: ['offtoken'],
            attribute_mapping: { subject: 'assertion.sub', repo: 'assertion.repository' },
            attribute_condition: "assertion.repository_owner == 'acme'",
            allowed_audiences: [API],
          },
          {
            type: 'saml',
            issuer: 'https://idp.example',
            cert: publicPem,
            audiences: ['https://auth.example'],
            attribute_mapping: { subject: 'assertion.sub', groups: 'assertion.attributes.groups' },
            attribute_condition: "'admins' in assertion.attributes.groups",
            allowed_audiences: [API],
          },
        ],
      },
    });
    svc = addClient(s, 'svc');
    other = addClient(s, 'other', 'ed25519', { audiences: [API], resourceServers: [API] });
  });
  after(() => s.close());

  const grant = async (c: TestClient) => {
    const r = await post(`${s.base}/token`, {
      grant_type: JWT_BEARER,
      assertion: assertion(c, `${s.base}/token`),
    });
    assert.equal(r.status, 200, r.text);
    return r.body.access_token as string;
  };
  const clientAuth = (c: TestClient, endpoint: string) => ({
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion(c, `${s.base}${endpoint}`),
  });
  const jwks = async () =>
    (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as JSONWebKeySet & {
      keys: Record<string, unknown>[];
    };

  it('introspect says active to a resource server of the token audience and requires client authentication', async () => {
    const t = await grant(svc);
    const ok = await post(`${s.base}/introspect`, { token: t, ...clientAuth(other, '/introspect') });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.active, true);
    assert.equal(ok.body.client_id, 'svc');
    const anon = await post(`${s.base}/introspect`, { token: t });
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error, 'invalid_client');
  });

  it('introspect says inactive for garbage', async () => {
    const r = await post(`${s.base}/introspect`, { token: 'abc.def.ghi', ...clientAuth(svc, '/introspect') });
    assert.deepEqual(r.body, { active: false });
  });

  it('revoke -> introspect inactive -> status list bit set -> offline check says revoked', async () => {
    const t = await grant(svc);
    const keep = await grant(svc);
    // introspected (and cached as verified) before the revocation: the revocation must still win
    const pre = await post(`${s.base}/introspect`, { token: t, ...clientAuth(svc, '/introspect') });
    assert.equal(pre.body.active, true);
    const rv = await post(`${s.base}/revoke`, { token: t, ...clientAuth(svc, '/revoke') });
    assert.equal(rv.status, 200, rv.text);
    const ins = await post(`${s.base}/introspect`, { token: t, ...clientAuth(svc, '/introspect') });
    assert.equal(ins.body.active, false);
    const claims = (await jwtVerify(t, createLocalJWKSet(await jwks()))).payload as {
      status: { status_list: { idx: number; uri: string } };
    };
    const res = await fetch(claims.status.status_list.uri);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/statuslist+jwt');
    const listToken = await res.text();
    const set = await jwks();
    const list = verifyStatusListToken(listToken, { key: set, uri: claims.status.status_list.uri });
    assert.equal(list.list.get(claims.status.status_list.idx), 1);
    assert.equal(
      code(() => checkStatusOffline(t, listToken, { key: set })),
      'ERR_TOKEN_REVOKED',
    );
    assert.equal(checkStatusOffline(keep, listToken, { key: set }).status, 0);
    // jose also accepts the list token's signature and typ
    await jwtVerify(listToken, createLocalJWKSet(set), { typ: 'statuslist+jwt' });
  });

  it('revoking another client token is unauthorized_client', async () => {
    const t = await grant(svc);
    const r = await post(`${s.base}/revoke`, { token: t, ...clientAuth(other, '/revoke') });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'unauthorized_client');
  });

  it('revoking an unknown token is 200 (RFC 7009 2.2)', async () => {
    const r = await post(`${s.base}/revoke`, { token: 'nope', ...clientAuth(svc, '/revoke') });
    assert.equal(r.status, 200);
  });

  it('tokens signed before and after a key rotation both verify with the published JWKS', async () => {
    const before = await grant(svc);
    const oldKid = (await jwks()).keys.map((k) => k.kid);
    const newKid = s.app.authority.rotateKeys();
    const afterTok = await grant(svc);
    const set = await jwks();
    assert.equal(set.keys.length, oldKid.length + 1);
    assert.ok(set.keys.some((k) => k.kid === newKid));
    const verifier = createLocalJWKSet(set);
    const a = await jwtVerify(before, verifier, { issuer: s.base });
    const b = await jwtVerify(afterTok, verifier, { issuer: s.base });
    assert.notEqual(a.protectedHeader.kid, b.protectedHeader.kid);
    assert.equal(b.protectedHeader.kid, newKid);
    const ins = await post(`${s.base}/introspect`, { token: before, ...clientAuth(svc, '/introspect') });
    assert.equal(ins.body.active, true);
  });

  it('token exchange maps an OIDC token through CEL and caps exp at the external token', async () => {
    const ext = idToken();
    const r = await post(`${s.base}/token`, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: ext,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    const p = (
      await jwtVerify(r.body.access_token as string, createLocalJWKSet(await jwks()), { typ: 'at+jwt' })
    ).payload;
    assert.equal(p.sub, 'repo:acme/app:ref:refs/heads/main');
    assert.equal(p.repo, 'acme/app');
    const extExp = JSON.parse(Buffer.from(ext.split('.')[1]!, 'base64url').toString()).exp as number;
    assert.ok((p.exp as number) <= extExp);
  });

  const exchangeRejections: [string, () => string, string, RegExp][] = [
    [
      'the CEL condition is false',
      () => idToken({ repository_owner: 'evil' }),
      'invalid_grant',
      /attribute condition/,
    ],
    ['the audience is not allowed', () => idToken({ aud: 'someone-else' }), 'invalid_grant', /aud/],
    [
      'the token expired',
      () => idToken({ exp: Math.floor(Date.now() / 1000) - 10 }),
      'invalid_grant',
      /expired/,
    ],
    [
      'the issuer is not trusted',
      () => idToken({ iss: 'https://evil.example' }),
      'invalid_grant',
      /not a trusted provider/,
    ],
    [
      'a claim the condition reads is missing',
      () => idToken({ repository_owner: undefined }),
      'invalid_grant',
      /raised an error/,
    ],
    [
      'the signature is by another key',
      () =>
        signCompact(
          { kid: 'idp-1' },
          { iss: IDP, aud: 'offtoken', sub: 'x', exp: 9e9 },
          generateKeyPairSync('ed25519').privateKey,
        ),
      'invalid_grant',
      /signature/,
    ],
  ];
  for (const [name, make, error, why] of exchangeRejections) {
    it(`token exchange rejects when ${name}`, async () => {
      const r = await post(`${s.base}/token`, {
        grant_type: TOKEN_EXCHANGE,
        subject_token: make(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, error);
      assert.match(String(r.body.error_description), why);
    });
  }

  function samlAssertion(nameId: string, groups = ['admins'], lifetimeMs = 120_000): string {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    return (
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_s1" Version="2.0" IssueInstant="${iso(now)}">` +
      '<saml:Issuer>https://idp.example</saml:Issuer>' +
      `<saml:Subject><saml:NameID>${nameId}</saml:NameID></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(now - 60_000)}" NotOnOrAfter="${iso(now + lifetimeMs)}">` +
      '<saml:AudienceRestriction><saml:Audience>https://auth.example</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
      `<saml:AttributeStatement><saml:Attribute Name="groups">${groups.map((g) => `<saml:AttributeValue>${g}</saml:AttributeValue>`).join('')}` +
      '<saml:AttributeValue>x</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>'
    );
  }
  const exchangeSaml = (xml: string) =>
    post(`${s.base}/token`, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: Buffer.from(xml).toString('base64url'),
      subject_token_type: 'urn:ietf:params:oauth:token-type:saml2',
    });

  it('token exchange accepts a signed SAML assertion and caps exp at NotOnOrAfter', async () => {
    const r = await exchangeSaml(signSaml(samlAssertion('alice@acme.example')));
    assert.equal(r.status, 200, r.text);
    const p = (await jwtVerify(r.body.access_token as string, createLocalJWKSet(await jwks()))).payload;
    assert.equal(p.sub, 'alice@acme.example');
    assert.deepEqual(p.groups, ['admins', 'x']);
    assert.ok((p.exp as number) <= Math.floor(Date.now() / 1000) + 120);
  });

  it('token exchange rejects a SAML assertion with a wrapped signature', async () => {
    const signed = signSaml(samlAssertion('alice@acme.example', ['users']));
    const evil = samlAssertion('admin@acme.example');
    const wrapped = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${evil}<samlp:Extensions>${signed}</samlp:Extensions></samlp:Response>`;
    const r = await exchangeSaml(wrapped);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'invalid_grant');
  });

  it('token exchange refuses a SAML assertion past NotOnOrAfter but inside the clock skew (no lifetime left)', async () => {
    const r = await exchangeSaml(signSaml(samlAssertion('alice@acme.example', ['admins'], -20_000)));
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /no remaining lifetime/);
  });

  it('token exchange rejects a SAML assertion whose CEL condition is false', async () => {
    const r = await exchangeSaml(signSaml(samlAssertion('bob@acme.example', ['users'])));
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /attribute condition/);
  });
});
