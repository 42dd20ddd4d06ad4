import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { TOKEN_TYPE_INTERMEDIARY } from '../../src/downscope/exchange.js';
import type { OtpValidator } from '../../src/otp/validator.js';
import { maxIssuedTokenChars } from '../../src/server/authority.js';
import { checkClientPolicy, normaliseClientJwk } from '../../src/server/clients.js';
import { resolveConfig } from '../../src/server/config.js';
import { AuthorityDb } from '../../src/server/db.js';
import { signCompact } from '../../src/status-list/jws.js';
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

const PAYMENTS = 'https://payments.internal';
const REPORTS = 'https://reports.internal';
const TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TYPE_AT = 'urn:ietf:params:oauth:token-type:access_token';

const idp = generateKeyPairSync('ed25519');
const idpJwk = { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'EdDSA', use: 'sig' };
const IDP = 'https://ci.example';
const IDP_NO_LISTS = 'https://legacy-idp.example';
const IDP_ONCE = 'https://once.example';

function idToken(over: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: IDP,
    aud: 'offtoken',
    sub: 'repo:acme/app',
    repository: 'acme/app',
    repository_owner: 'acme',
    jti: randomBytes(12).toString('base64url'),
    iat: now,
    exp: now + 90,
    ...over,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return signCompact({ kid: 'idp-1', typ: 'JWT' }, claims, idp.privateKey);
}

const payload = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;

function oidc(issuer: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'oidc' as const,
    issuer,
    jwks: { keys: [idpJwk] },
    audiences: ['offtoken'],
    attribute_mapping: { subject: 'assertion.sub', blob: 'has(assertion.blob) ? assertion.blob : ""' },
    ...extra,
  };
}

describe('scope and audience policy at /token (issue 9 item 4)', () => {
  let s: TestServer;
  let fresh: TestClient;
  let withDefault: TestClient;
  let legacy: TestClient;
  let tokenUrl: string;
  before(async () => {
    s = await startServer({
      federation: {
        providers: [
          oidc(IDP, {
            // the identity's repository decides what it may ask for
            allowed_scopes:
              "['read:repos/' + assertion.repository + '/'] + (assertion.repository_owner == 'acme' ? ['write:repos/' + assertion.repository + '/'] : [])",
            default_scopes: "['read:repos/' + assertion.repository + '/']",
            allowed_audiences: [REPORTS],
          }),
          oidc(IDP_NO_LISTS),
          oidc(IDP_ONCE, { allowed_audiences: [REPORTS], single_use: true }),
        ],
      },
    });
    tokenUrl = `${s.base}/token`;
    fresh = addClient(s, 'fresh', 'ed25519', { scopes: ['read:reports/'], audiences: [REPORTS] });
    withDefault = addClient(s, 'with-default', 'ed25519', {
      scopes: ['read:reports/', 'write:reports/drafts/'],
      defaultScopes: ['read:reports/'],
      audiences: [REPORTS, s.base],
    });
    legacy = addClient(s, 'legacy', 'ed25519', {});
  });
  after(() => s.close());

  const grant = (c: TestClient, extra: Record<string, string> = {}) =>
    post(tokenUrl, { grant_type: JWT_BEARER, assertion: assertion(c, tokenUrl), ...extra });
  const clientCredentials = (c: TestClient, extra: Record<string, string> = {}) =>
    post(tokenUrl, {
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(c, tokenUrl),
      ...extra,
    });
  const exchange = (subject: string, extra: Record<string, string> = {}) =>
    post(tokenUrl, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subject,
      subject_token_type: TYPE_JWT,
      ...extra,
    });

  it('refuses the issue attack: scope "admin write:/ read:/" for aud payments.internal', async () => {
    for (const send of [grant, clientCredentials]) {
      const r = await send(fresh, { scope: 'admin write:/ read:/', audience: PAYMENTS });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, 'invalid_target');
      assert.match(String(r.body.error_description), /payments\.internal.*not registered for client fresh/);
      // the same scope for an audience it may use: the scope is refused, naming the first scope outside
      const sc = await send(fresh, { scope: 'admin write:/ read:/', audience: REPORTS });
      assert.equal(sc.body.error, 'invalid_scope');
      assert.match(String(sc.body.error_description), /"admin" is not registered for client fresh/);
      // RFC 8707 resource is held to the same list
      const rs = await send(fresh, { scope: 'read:reports/', resource: PAYMENTS });
      assert.equal(rs.body.error, 'invalid_target');
    }
  });

  it('accepts a registered scope and audience (a repeated scope once), and returns the issued scope', async () => {
    const r = await grant(fresh, { scope: 'read:reports/ read:reports/', audience: REPORTS });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.scope, 'read:reports/');
    const c = payload(r.body.access_token as string);
    assert.equal(c.scope, 'read:reports/');
    assert.equal(c.aud, REPORTS);
  });

  it('applies the registered default scope when none is requested, and no scope when none is registered', async () => {
    const d = await clientCredentials(withDefault, { audience: REPORTS });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.scope, 'read:reports/');
    assert.equal(payload(d.body.access_token as string).scope, 'read:reports/');
    const n = await grant(fresh, { audience: REPORTS });
    assert.equal(n.status, 200, n.text);
    assert.equal(n.body.scope, undefined);
    assert.equal(payload(n.body.access_token as string).scope, undefined);
  });

  it('holds the default audience to the registered list', async () => {
    // fresh registered only REPORTS: the default audience (the issuer) is refused, naming the flag
    const r = await grant(fresh, { scope: 'read:reports/' });
    assert.equal(r.body.error, 'invalid_target');
    assert.match(String(r.body.error_description), /no audience was requested.*--audience/);
    const ok = await grant(withDefault);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(payload(ok.body.access_token as string).aud, s.base);
  });

  it('denies a client registered before the policy, naming the flag to set', async () => {
    const r = await grant(legacy);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'invalid_target');
    assert.match(
      String(r.body.error_description),
      /client legacy has no registered audiences.*offtoken clients update --id legacy --audience/,
    );
    s.app.authority.db.updateClientPolicy('legacy', { audiences: [REPORTS] });
    const sc = await grant(legacy, { audience: REPORTS, scope: 'read:reports/' });
    assert.equal(sc.body.error, 'invalid_scope');
    assert.match(String(sc.body.error_description), /no registered scopes.*--scope/);
  });

  it('bounds a federated identity by its provider lists, computed by CEL from the external token', async () => {
    const own = await exchange(idToken(), { scope: 'write:repos/acme/app/', audience: REPORTS });
    assert.equal(own.status, 200, own.text);
    assert.equal(payload(own.body.access_token as string).scope, 'write:repos/acme/app/');
    const other = await exchange(idToken(), { scope: 'write:repos/acme/other/', audience: REPORTS });
    assert.equal(other.body.error, 'invalid_scope');
    assert.match(String(other.body.error_description), /federation provider https:\/\/ci\.example/);
    // an identity outside acme gets read only, and the default scope when it asks for none
    const outsider = idToken({ repository: 'evil/x', repository_owner: 'evil' });
    const w = await exchange(outsider, { scope: 'write:repos/evil/x/', audience: REPORTS });
    assert.equal(w.body.error, 'invalid_scope');
    const dflt = await exchange(idToken({ repository: 'evil/x', repository_owner: 'evil' }), {
      audience: REPORTS,
    });
    assert.equal(dflt.status, 200, dflt.text);
    assert.equal(dflt.body.scope, 'read:repos/evil/x/');
    const attack = await exchange(idToken(), { scope: 'admin write:/ read:/', audience: PAYMENTS });
    assert.equal(attack.body.error, 'invalid_target');
  });

  it('denies a federation provider without lists, naming the config key', async () => {
    const r = await exchange(idToken({ iss: IDP_NO_LISTS }));
    assert.equal(r.body.error, 'invalid_target');
    assert.match(String(r.body.error_description), /allowed_audiences of federation provider/);
  });

  it('holds a client acting for a federated identity to its own lists too', async () => {
    const auth = (c: TestClient) => ({
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(c, tokenUrl),
    });
    // the provider allows write:repos/acme/app/, the client does not
    const r = await exchange(idToken(), {
      scope: 'write:repos/acme/app/',
      audience: REPORTS,
      ...auth(fresh),
    });
    assert.equal(r.body.error, 'invalid_scope');
    assert.match(String(r.body.error_description), /client fresh/);
  });

  it('lets an intermediary only narrow its subject token, under the client lists as registered now', async () => {
    const at = (await grant(withDefault, { scope: 'read:reports/ write:reports/drafts/', audience: REPORTS }))
      .body.access_token as string;
    const ask = (extra: Record<string, string>) =>
      post(tokenUrl, {
        grant_type: TOKEN_EXCHANGE,
        subject_token: at,
        subject_token_type: TYPE_AT,
        requested_token_type: TOKEN_TYPE_INTERMEDIARY,
        ...extra,
      });
    const wide = await ask({ scope: 'write:/' });
    assert.equal(wide.body.error, 'invalid_scope');
    const otherAud = await ask({ audience: PAYMENTS });
    assert.equal(otherAud.body.error, 'invalid_target');
    const narrow = await ask({ scope: 'read:reports/' });
    assert.equal(narrow.status, 200, narrow.text);
    // the registration is narrowed while the token lives: the write scope can no longer be handed on
    s.app.authority.db.updateClientPolicy('with-default', { scopes: ['read:reports/'], defaultScopes: [] });
    try {
      const after = await ask({});
      assert.equal(after.body.error, 'invalid_scope');
      assert.match(String(after.body.error_description), /write:reports\/drafts\//);
    } finally {
      s.app.authority.db.updateClientPolicy('with-default', {
        scopes: ['read:reports/', 'write:reports/drafts/'],
        defaultScopes: ['read:reports/'],
      });
    }
  });

  it('exchanges a subject token of a single_use provider once', async () => {
    const t = idToken({ iss: IDP_ONCE });
    const first = await exchange(t, { audience: REPORTS });
    assert.equal(first.status, 200, first.text);
    const again = await exchange(t, { audience: REPORTS });
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
    assert.match(String(again.body.error_description), /already exchanged/);
    const noJti = await exchange(idToken({ iss: IDP_ONCE, jti: undefined }), { audience: REPORTS });
    assert.equal(noJti.body.error, 'invalid_grant');
    assert.match(String(noJti.body.error_description), /single-use.*jti/);
    // eight exchanges of one token at once: exactly one is answered with a token
    const raced = idToken({ iss: IDP_ONCE });
    const results = await Promise.all(
      Array.from({ length: 8 }, () => exchange(raced, { audience: REPORTS })),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    for (const r of results) if (r.status !== 200) assert.equal(r.body.error, 'invalid_grant');
    // a refused request does not burn the token: a policy refusal comes before the replay table
    const t2 = idToken({ iss: IDP_ONCE });
    assert.equal((await exchange(t2, { audience: PAYMENTS })).body.error, 'invalid_target');
    assert.equal((await exchange(t2, { audience: REPORTS })).status, 200);
  });
});

describe('introspection is told only to the token client or its audience resource server (issue 9 item 5)', () => {
  let s: TestServer;
  let owner: TestClient;
  let nosy: TestClient;
  let rs: TestClient;
  let otherRs: TestClient;
  before(async () => {
    s = await startServer();
    owner = addClient(s, 'owner', 'ed25519', { audiences: [PAYMENTS] });
    nosy = addClient(s, 'nosy');
    rs = addClient(s, 'payments-rs', 'ed25519', { resourceServers: [PAYMENTS] });
    otherRs = addClient(s, 'reports-rs', 'ed25519', { resourceServers: [REPORTS] });
  });
  after(() => s.close());

  const introspect = (token: string, c: TestClient) =>
    post(`${s.base}/introspect`, {
      token,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(c, `${s.base}/introspect`),
    });

  it('answers {"active": false} to any other client, and the claims to the owner and the resource server', async () => {
    const r = await post(`${s.base}/token`, {
      grant_type: JWT_BEARER,
      assertion: assertion(owner, `${s.base}/token`),
      audience: PAYMENTS,
    });
    assert.equal(r.status, 200, r.text);
    const t = r.body.access_token as string;
    for (const c of [nosy, otherRs]) {
      const n = await introspect(t, c);
      assert.equal(n.status, 200);
      assert.deepEqual(n.body, { active: false });
    }
    for (const c of [owner, rs]) {
      const y = await introspect(t, c);
      assert.equal(y.body.active, true, c.id);
      assert.equal(y.body.client_id, 'owner');
      assert.equal(y.body.aud, PAYMENTS);
    }
  });
});

describe('tokens too big to revoke are never issued (issue 17 item 5)', () => {
  let s: TestServer;
  let svc: TestClient;
  const scopes = Array.from(
    { length: 30 },
    (_, i) => `read:tenants/t${String(i).padStart(2, '0')}/reports/2026/`,
  );
  before(async () => {
    s = await startServer({
      bodyLimit: 16 * 1024,
      federation: {
        providers: [oidc(IDP, { allowed_scopes: scopes, allowed_audiences: [REPORTS] })],
        // room for a claim larger than the default CEL value size: this is about the token size limit
        cel_budget: { max_value_size: 32 * 1024 },
      },
    });
    svc = addClient(s, 'svc', 'ed25519', { scopes, audiences: [REPORTS] });
  });
  after(() => s.close());

  const exchange = (blob: string) =>
    post(`${s.base}/token`, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: idToken({ blob }),
      subject_token_type: TYPE_JWT,
      scope: scopes.join(' '),
      audience: REPORTS,
      // the acting client owns the token, so it may revoke it
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(svc, `${s.base}/token`),
    });

  it('issues a token up to the limit that /revoke and /introspect accept back, and refuses a larger one', async () => {
    const max = maxIssuedTokenChars(16 * 1024);
    assert.equal(max, 14 * 1024);
    const fits = await exchange('x'.repeat(8000));
    assert.equal(fits.status, 200, fits.text);
    const t = fits.body.access_token as string;
    assert.ok(t.length > max - 2000 && t.length <= max, String(t.length));
    const auth = (ep: string) => ({
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(svc, `${s.base}${ep}`),
    });
    const pre = await post(`${s.base}/introspect`, { token: t, ...auth('/introspect') });
    assert.equal(pre.body.active, true, pre.text);
    const rv = await post(`${s.base}/revoke`, { token: t, ...auth('/revoke') });
    assert.equal(rv.status, 200, rv.text);
    const post2 = await post(`${s.base}/introspect`, { token: t, ...auth('/introspect') });
    assert.deepEqual(post2.body, { active: false });

    const big = await exchange('x'.repeat(9500));
    assert.equal(big.status, 400, big.text);
    assert.equal(big.body.error, 'invalid_grant');
    assert.match(String(big.body.error_description), /over the 14336 that \/revoke and \/introspect accept/);
  });

  it('refuses mapped claims over 16 KiB of JSON with invalid_grant', async () => {
    const wide = await startServer({
      federation: {
        providers: [oidc(IDP, { allowed_audiences: [REPORTS] })],
        cel_budget: { max_value_size: 32 * 1024 },
      },
    });
    try {
      const r = await post(`${wide.base}/token`, {
        grant_type: TOKEN_EXCHANGE,
        subject_token: idToken({ blob: 'x'.repeat(17 * 1024) }),
        subject_token_type: TYPE_JWT,
        audience: REPORTS,
      });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, 'invalid_grant');
      assert.match(String(r.body.error_description), /mapped claims exceed 16384/);
    } finally {
      await wide.close();
    }
  });
});

describe('otpVerifyClients: who may spend a credential lockout (issue 9 design note)', () => {
  // RFC 6238 TOTP, SHA-1, 6 digits, 30 s
  function totp(secret: Uint8Array, t: number): string {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
    const mac = createHmac('sha1', secret).update(counter).digest();
    const off = mac[mac.length - 1]! & 0xf;
    return String((mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000).padStart(6, '0');
  }
  let s: TestServer;
  let rp: TestClient;
  let stranger: TestClient;
  let secret: Uint8Array;
  before(async () => {
    s = await startServer({ otpVerifyClients: ['login-rp'] });
    rp = addClient(s, 'login-rp');
    stranger = addClient(s, 'stranger');
    const v = (s.app as unknown as { otpValidator: OtpValidator }).otpValidator;
    secret = (await v.enroll({ id: 'alice-phone' })).secret;
  });
  after(() => s.close());
  const verify = (c: TestClient, code: string) =>
    post(`${s.base}/otp/verify`, {
      credential_id: 'alice-phone',
      code,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(c, `${s.base}/otp/verify`),
    });

  it('refuses a client outside the list before evaluating the code, so it cannot lock the user out', async () => {
    const right = totp(secret, Date.now() / 1000);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 6; i++) {
      const r = await verify(stranger, wrong);
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'unauthorized_client');
      assert.match(String(r.body.error_description), /otpVerifyClients/);
    }
    const ok = await verify(rp, right);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.valid, true);
  });

  it('refuses an otpVerifyClients that is not a list of ids', () => {
    assert.throws(() => resolveConfig({ dataDir: '/tmp/x', otpVerifyClients: 'login-rp' as never }), {
      code: 'ERR_SERVER_CONFIG',
    });
  });
});

describe('authority.db from before the policy', () => {
  it('gains the policy columns on open; its clients are denied until their lists are set', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const file = path.join(dir, 'authority.db');
    const old = new Database(file);
    old.exec(
      'CREATE TABLE clients (id TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);' +
        "INSERT INTO clients (id, disabled, created_at) VALUES ('old', 0, 1)",
    );
    old.close();
    const db = new AuthorityDb(file);
    try {
      assert.deepEqual(db.getClientPolicy('old'), {});
      assert.deepEqual(db.updateClientPolicy('old', { audiences: [REPORTS] }), { audiences: [REPORTS] });
      assert.deepEqual(db.getClient('old')?.policy, { audiences: [REPORTS] });
    } finally {
      db.close();
    }
    // opening again (columns present) changes nothing
    const again = new AuthorityDb(file);
    assert.deepEqual(again.getClientPolicy('old'), { audiences: [REPORTS] });
    again.close();
  });

  it('a server started on an old authority.db refuses its clients a token, naming --audience', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = normaliseClientJwk(publicKey.export({ format: 'jwk' }));
    const old = new Database(path.join(dir, 'authority.db'));
    old.exec(
      'CREATE TABLE clients (id TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);' +
        'CREATE TABLE client_keys (client_id TEXT NOT NULL REFERENCES clients(id), kid TEXT NOT NULL, jwk TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (client_id, kid));',
    );
    old.prepare("INSERT INTO clients (id, disabled, created_at) VALUES ('svc', 0, 1)").run();
    old.prepare("INSERT INTO client_keys VALUES ('svc', ?, ?, 1)").run(jwk.kid, JSON.stringify(jwk));
    old.close();
    const s = await startServer({ dataDir: dir });
    try {
      const svc: TestClient = { id: 'svc', kid: jwk.kid as string, privateKey };
      const r = await post(`${s.base}/token`, {
        grant_type: JWT_BEARER,
        assertion: assertion(svc, `${s.base}/token`),
      });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, 'invalid_target');
      assert.match(String(r.body.error_description), /offtoken clients update --id svc --audience/);
    } finally {
      await s.close();
    }
  });
});

describe('registered lists are bounded', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'no error';
  };
  for (const [name, policy] of [
    ['257 scopes', { scopes: Array.from({ length: 257 }, (_, i) => `s${i}`) }],
    ['a scope of 257 characters', { scopes: ['s'.repeat(257)] }],
    ['an empty scope', { scopes: [''] }],
    ['an audience of 513 characters', { audiences: [`https://${'a'.repeat(505)}`] }],
    ['an empty resource server', { resourceServers: [''] }],
    ['a default scope outside the scopes', { scopes: ['read'], defaultScopes: ['write'] }],
  ] as const)
    it(`refuses ${name} with ERR_CLIENT_REGISTRY`, () => {
      assert.equal(
        code(() => checkClientPolicy(policy as never)),
        'ERR_CLIENT_REGISTRY',
      );
    });
  it('keeps each value once', () => {
    assert.deepEqual(checkClientPolicy({ scopes: ['read', 'read'], audiences: ['a', 'a'] }), {
      scopes: ['read'],
      audiences: ['a'],
    });
  });
});

describe('policy configuration', () => {
  const base = { dataDir: '/tmp/x' };
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'no error';
  };
  for (const [name, extra] of [
    ['a default scope outside allowed_scopes', { allowed_scopes: ['a'], default_scopes: ['b'] }],
    ['a malformed scope', { allowed_scopes: ['a b'] }],
    ['allowed_audiences that is not a list or CEL', { allowed_audiences: 5 }],
    ['an audience with whitespace', { allowed_audiences: ['https://x y'] }],
    ['single_use that is not a boolean', { single_use: 'yes' }],
    ['a misspelt key (allowed_scope)', { allowed_scope: ['admin'] }],
  ] as const)
    it(`refuses ${name} with ERR_SERVER_CONFIG`, () => {
      assert.equal(
        code(() =>
          resolveConfig({ ...base, federation: { providers: [oidc(IDP, extra as never)] } } as never),
        ),
        'ERR_SERVER_CONFIG',
      );
    });
  it('refuses single_use on a SAML provider and a bodyLimit under 4 KiB', () => {
    const saml = {
      type: 'saml',
      issuer: 'https://idp',
      cert: 'x',
      audiences: ['a'],
      attribute_mapping: { subject: 'assertion.sub' },
      single_use: true,
    };
    assert.equal(
      code(() => resolveConfig({ ...base, federation: { providers: [saml] } } as never)),
      'ERR_SERVER_CONFIG',
    );
    assert.equal(
      code(() => resolveConfig({ ...base, bodyLimit: 3000 })),
      'ERR_SERVER_CONFIG',
    );
  });
});
