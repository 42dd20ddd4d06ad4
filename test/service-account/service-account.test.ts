import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import { verifyJwt } from '../../src/jose/index.js';
import { verifyClientAssertion } from '../../src/server/assertion.js';
import { readServiceAccountJwk, registerClient } from '../../src/server/clients.js';
import { AuthorityDb } from '../../src/server/db.js';
import {
  createServiceAccount,
  jwtAssertion,
  parseServiceAccount,
  readServiceAccountFile,
  type ServiceAccountAlg,
  selfSignedJwt,
  serviceAccountJwks,
  serviceAccountToJson,
  writeServiceAccountFile,
} from '../../src/service-account/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-sa-'));
let n = 0;
const file = () => path.join(dir, `sa-${n++}.json`);
const NOW = 1_800_000_000;

function claimsOf(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h as string, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p as string, 'base64url').toString()),
  };
}

describe('service-account files', () => {
  for (const alg of ['EdDSA', 'ES256', 'ES384', 'RS256'] as ServiceAccountAlg[]) {
    it(`creates, writes (mode 0600) and reads back a ${alg} account`, () => {
      const sa = createServiceAccount({ alg, clientEmail: 'bot@example.com' });
      const f = file();
      writeServiceAccountFile(f, sa);
      assert.equal(statSync(f).mode & 0o777, 0o600);
      const doc = JSON.parse(readFileSync(f, 'utf8'));
      assert.equal(doc.type, 'service_account');
      assert.match(doc.private_key, /^-----BEGIN PRIVATE KEY-----\n/);
      const back = readServiceAccountFile(f);
      assert.equal(back.alg, alg);
      assert.equal(back.clientId, sa.clientId);
      assert.equal(back.clientEmail, 'bot@example.com');
      assert.equal(back.keyId, sa.keyId);
      assert.ok(back.publicKey.equals(sa.publicKey));
    });
  }

  it('refuses to replace an existing file unless overwrite', () => {
    const f = file();
    writeServiceAccountFile(f, createServiceAccount());
    const second = createServiceAccount();
    assert.throws(() => writeServiceAccountFile(f, second), { code: 'ERR_INVALID_ARGUMENT' });
    writeServiceAccountFile(f, second, { overwrite: true });
    assert.equal(readServiceAccountFile(f).clientId, second.clientId);
  });

  it('refuses a group/world-readable file unless forced', () => {
    const f = file();
    writeServiceAccountFile(f, createServiceAccount());
    chmodSync(f, 0o644);
    assert.throws(() => readServiceAccountFile(f), { code: 'ERR_KEYFILE_PERMISSIONS' });
    assert.ok(readServiceAccountFile(f, { force: true }).clientId.startsWith('sa-'));
  });

  it('reads a cloud-style RSA file and ignores its other members', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sa = parseServiceAccount({
      type: 'service_account',
      project_id: 'demo-project',
      private_key_id: 'a'.repeat(40),
      private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      client_email: 'robot@demo-project.iam.example.com',
      client_id: '104242424242424242424',
      auth_uri: 'https://accounts.example.com/o/oauth2/auth',
      token_uri: 'https://oauth2.example.com/token',
    });
    assert.equal(sa.alg, 'RS256');
    assert.equal(sa.keyId, 'a'.repeat(40));
    assert.equal(sa.tokenUri, 'https://oauth2.example.com/token');
  });

  it('reads the file `offtoken clients add --generate` writes (no client_email, thumbprint kid)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const doc = {
      type: 'service_account',
      client_id: 'billing',
      private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
    const server = readServiceAccountJwk({ ...doc });
    const sa = parseServiceAccount(doc);
    assert.equal(sa.clientId, 'billing');
    assert.equal(sa.clientEmail, undefined);
    // same default kid as the authority: the RFC 7638 thumbprint
    assert.equal(sa.keyId, server.jwk.kid);
    assert.ok(sa.publicKey.equals(publicKey));
  });

  const bad: [string, unknown][] = [
    ['not an object', ['service_account']],
    ['another type', { type: 'authorized_user', client_id: 'x', private_key: 'x' }],
    ['no client id', { type: 'service_account', private_key: 'x' }],
    ['a client id outside the alphabet', { type: 'service_account', client_id: 'a b', private_key: 'x' }],
    ['no private key', { type: 'service_account', client_id: 'x' }],
    ['a private key that is not PEM', { type: 'service_account', client_id: 'x', private_key: 'MIIB' }],
    [
      'a PKCS#1 RSA key',
      {
        type: 'service_account',
        client_id: 'x',
        private_key: generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ format: 'pem', type: 'pkcs1' })
          .toString(),
      },
    ],
    [
      'an X25519 key (cannot sign)',
      {
        type: 'service_account',
        client_id: 'x',
        private_key: generateKeyPairSync('x25519')
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      },
    ],
    [
      'a 1024-bit RSA key',
      {
        type: 'service_account',
        client_id: 'x',
        private_key: generateKeyPairSync('rsa', { modulusLength: 1024 })
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      },
    ],
    [
      'a token_uri that is not http(s)',
      { ...serviceAccountToJson(createServiceAccount()), token_uri: 'file:///etc/passwd' },
    ],
    [
      'a private_key_id with spaces',
      { ...serviceAccountToJson(createServiceAccount()), private_key_id: 'a b' },
    ],
  ];
  for (const [name, doc] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseServiceAccount(doc), { code: 'ERR_SERVICE_ACCOUNT_INVALID' });
    });
  }

  it('rejects a file that is not JSON, and one over 64 KiB', () => {
    const f = file();
    writeFileSync(f, '{ not json', { mode: 0o600 });
    assert.throws(() => readServiceAccountFile(f), { code: 'ERR_SERVICE_ACCOUNT_INVALID' });
    const g = file();
    writeFileSync(g, ' '.repeat(65 * 1024), { mode: 0o600 });
    assert.throws(() => readServiceAccountFile(g), { code: 'ERR_INPUT_TOO_LARGE' });
  });

  it('reports a missing file with a typed error', () => {
    assert.throws(() => readServiceAccountFile(path.join(dir, 'absent.json')), {
      code: 'ERR_KEYFILE_INVALID',
    });
  });
});

describe('selfSignedJwt', () => {
  const sa = createServiceAccount({ alg: 'ES256', clientEmail: 'bot@example.com' });

  it('signs iss = sub = client email, kid = private_key_id, 1 hour by default; jose verifies it', async () => {
    const t = selfSignedJwt(sa, { audience: 'https://api.example.com/' }, { now: NOW });
    const { header, payload } = claimsOf(t);
    assert.deepEqual(header, { alg: 'ES256', kid: sa.keyId, typ: 'JWT' });
    assert.deepEqual(payload, {
      iss: 'bot@example.com',
      sub: 'bot@example.com',
      aud: 'https://api.example.com/',
      iat: NOW,
      exp: NOW + 3600,
    });
    const jwks = jose.createLocalJWKSet(serviceAccountJwks(sa) as jose.JSONWebKeySet);
    const r = await jose.jwtVerify(t, jwks, {
      audience: 'https://api.example.com/',
      issuer: 'bot@example.com',
      currentDate: new Date((NOW + 10) * 1000),
    });
    assert.equal(r.payload.sub, 'bot@example.com');
  });

  it('carries a space-separated scope instead of aud', () => {
    const t = selfSignedJwt(sa, { scope: ['read', 'write'] }, { now: NOW, lifetime: 600 });
    const v = verifyJwt(t, sa.publicKey, { algorithms: ['ES256'], now: NOW + 1 });
    assert.equal(v.payload.scope, 'read write');
    assert.equal(v.payload.aud, undefined);
    assert.equal(v.payload.exp, NOW + 600);
  });

  it('uses the client id when the file has no email', () => {
    const plain = createServiceAccount({ clientId: 'svc-1' });
    const v = verifyJwt(selfSignedJwt(plain, { audience: 'a' }, { now: NOW }), plain.publicKey, {
      algorithms: ['EdDSA'],
      issuer: 'svc-1',
      subject: 'svc-1',
      now: NOW,
    });
    assert.equal(v.header.kid, plain.keyId);
  });

  it('refuses a lifetime over 1 hour, both or neither of audience/scope, and overriding fixed claims', () => {
    assert.throws(() => selfSignedJwt(sa, { audience: 'a' }, { lifetime: 3601 }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => selfSignedJwt(sa, { audience: 'a', scope: 'b' } as never), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => selfSignedJwt(sa, {} as never), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => selfSignedJwt(sa, { audience: [] }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => selfSignedJwt(sa, { audience: 'a' }, { claims: { iss: 'evil' } }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe('jwtAssertion (RFC 7523)', () => {
  const sa = createServiceAccount({ clientId: 'svc-assert', clientEmail: 'svc@example.com' });
  const ep = 'https://as.example.com/token';

  it('signs iss = sub = client id, aud = token endpoint, a fresh 128-bit jti, at most 5 minutes', () => {
    const a = claimsOf(jwtAssertion(sa, { tokenEndpoint: ep, now: NOW }));
    const b = claimsOf(jwtAssertion(sa, { tokenEndpoint: ep, now: NOW }));
    assert.equal(a.payload.iss, 'svc-assert');
    assert.equal(a.payload.sub, 'svc-assert');
    assert.equal(a.payload.aud, ep);
    assert.equal(a.payload.iat, NOW);
    assert.ok((a.payload.exp as number) - NOW <= 300);
    assert.equal(Buffer.from(a.payload.jti as string, 'base64url').length, 16);
    assert.notEqual(a.payload.jti, b.payload.jti);
    assert.equal(a.header.kid, sa.keyId);
  });

  it('refuses a lifetime over 5 minutes and a token endpoint that is not an http(s) URL', () => {
    assert.throws(() => jwtAssertion(sa, { tokenEndpoint: ep, lifetime: 301 }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => jwtAssertion(sa, { tokenEndpoint: '/token' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => jwtAssertion(sa, { tokenEndpoint: 'ftp://x/token' }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  for (const alg of ['EdDSA', 'ES256'] as ServiceAccountAlg[]) {
    it(`is accepted by the authority's assertion check once (${alg}), then refused as a replay`, () => {
      const acct = createServiceAccount({ alg, clientId: `svc-${alg.toLowerCase()}` });
      const f = file();
      writeServiceAccountFile(f, acct);
      const db = new AuthorityDb(':memory:');
      try {
        const reg = readServiceAccountJwk(JSON.parse(readFileSync(f, 'utf8')));
        assert.equal(reg.clientId, acct.clientId);
        assert.equal(reg.jwk.kid, acct.keyId);
        registerClient(db, reg.clientId, [reg.jwk], NOW);
        const assertion = jwtAssertion(readServiceAccountFile(f), { tokenEndpoint: ep, now: NOW });
        const opts = { db, audiences: [ep], now: NOW + 5, replayNs: 'test' };
        assert.equal(verifyClientAssertion(assertion, opts).clientId, acct.clientId);
        assert.throws(() => verifyClientAssertion(assertion, opts), { reason: 'replayed' });
      } finally {
        db.close();
      }
    });
  }
});
