import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { OidcTrust } from '../../src/federation/oidc.js';
import { signCompact } from '../../src/status-list/jws.js';

const ISS = 'https://ci.example';
let now = 1_800_000_000;
const clock = () => now;

function key(kid: string): { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' } };
}

function idToken(k: { kid: string; privateKey: KeyObject }, over: Record<string, unknown> = {}): string {
  return signCompact(
    { kid: k.kid, typ: 'JWT' },
    { iss: ISS, aud: 'offtoken', sub: 'repo:acme/app', owner: 'acme', iat: now, exp: now + 60, ...over },
    k.privateKey,
  );
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('OIDC trust with a configured JWKS URL (a real local HTTP server)', () => {
  const k1 = key('k1');
  const k2 = key('k2');
  let served: Record<string, unknown>[] = [k1.jwk];
  let status = 200;
  let fetches = 0;
  let server: http.Server;
  let uri = '';
  before(async () => {
    server = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const trust = () =>
    new OidcTrust(
      {
        issuer: ISS,
        jwks_uri: uri,
        audiences: ['offtoken'],
        attribute_mapping: { subject: 'assertion.sub' },
        attribute_condition: "assertion.owner == 'acme'",
      },
      clock,
    );

  it('fetches the JWKS on first use, then verifies from memory', async () => {
    const t = trust();
    const before = fetches;
    assert.equal((await t.verify(idToken(k1))).subject, 'repo:acme/app');
    assert.equal((await t.verify(idToken(k1))).subject, 'repo:acme/app');
    assert.equal(fetches - before, 1);
  });

  it('an unknown kid refetches (the provider rotated), at most once per 30 s', async () => {
    const t = trust();
    await t.verify(idToken(k1));
    served = [k1.jwk, k2.jwk];
    // within the refetch cooldown the new key is not known yet
    assert.equal(await code(t.verify(idToken(k2))), 'ERR_FEDERATION_TOKEN_INVALID');
    now += 31;
    assert.equal((await t.verify(idToken(k2))).subject, 'repo:acme/app');
  });

  it('a JWKS URL that fails is ERR_FEDERATION_TOKEN_INVALID, not a crash', async () => {
    status = 500;
    try {
      assert.equal(await code(trust().verify(idToken(k1))), 'ERR_FEDERATION_TOKEN_INVALID');
    } finally {
      status = 200;
    }
  });

  it('the condition, the audience and the expiry still apply to keys from the URL', async () => {
    const t = trust();
    assert.equal(await code(t.verify(idToken(k1, { owner: 'evil' }))), 'ERR_FEDERATION_CONDITION_FAILED');
    assert.equal(await code(t.verify(idToken(k1, { aud: 'other' }))), 'ERR_FEDERATION_TOKEN_INVALID');
    assert.equal(await code(t.verify(idToken(k1, { exp: now - 1 }))), 'ERR_FEDERATION_TOKEN_INVALID');
  });
});

describe('OIDC identities that would pass for another', () => {
  const k = key('k1');
  const trust = new OidcTrust(
    {
      issuer: ISS,
      jwks: { keys: [k.jwk] } as never,
      audiences: ['offtoken'],
      attribute_mapping: { subject: 'assertion.sub', groups: 'assertion.groups' },
      attribute_condition: "'admins' in assertion.groups",
    },
    clock,
  );

  it('refuses a subject with an invisible or Unicode-space edge instead of trimming it to "admin"', async () => {
    for (const sub of ['\u00A0admin', 'admin\uFEFF', 'admin\u2028', ' admin', 'ad\u0000min'])
      assert.equal(
        await code(trust.verify(idToken(k, { sub, groups: ['admins'] }))),
        'ERR_FEDERATION_MAPPING',
        JSON.stringify(sub),
      );
    assert.equal((await trust.verify(idToken(k, { sub: 'admin', groups: ['admins'] }))).subject, 'admin');
  });

  it('a group "admins\\u00A0" is not the group "admins"', async () => {
    assert.equal(
      await code(trust.verify(idToken(k, { sub: 'bob', groups: ['admins\u00A0'] }))),
      'ERR_FEDERATION_CONDITION_FAILED',
    );
  });
});
