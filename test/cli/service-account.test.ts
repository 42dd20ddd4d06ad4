import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const file = join(dir, 'sa.json');

describe('offtoken service-account', () => {
  const created = JSON.parse(
    ok(cli(['service-account', 'create', '--out', file, '--client-id', 'svc-reports', '--json'])),
  );
  const jwks = JSON.parse(ok(cli(['service-account', 'jwks', '--key', file])));

  it('create writes a mode 0600 account file and refuses to overwrite it', () => {
    assert.equal(created.client_id, 'svc-reports');
    assert.equal(created.alg, 'EdDSA');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(jwks.keys[0].kid, created.private_key_id);
    assert.equal(jwks.keys[0].d, undefined);
    rejected(cli(['service-account', 'create', '--out', file]), 'ERR_INVALID_ARGUMENT');
  });

  it('token --aud is a self-signed JWT (iss = sub = the account, 1 h) that jose verifies', async () => {
    const out = JSON.parse(
      ok(cli(['service-account', 'token', '--key', file, '--aud', 'https://api.test', '--json'])),
    );
    assert.equal(out.token_type, 'Bearer');
    assert.equal(out.expires_in, 3600);
    const { payload, protectedHeader } = await jwtVerify(out.token, createLocalJWKSet(jwks), {
      audience: 'https://api.test',
      issuer: 'svc-reports',
      subject: 'svc-reports',
    });
    assert.equal(payload.exp! - payload.iat!, 3600);
    assert.equal(protectedHeader.kid, created.private_key_id);
  });

  it('token --scope carries the scope instead of aud', () => {
    const t = ok(
      cli(['service-account', 'token', '--key', file, '--scope', 'reports.read reports.write']),
    ).trim();
    const p = decodeJwt(t);
    assert.equal(p.scope, 'reports.read reports.write');
    assert.equal(p.aud, undefined);
  });

  it('token --assertion is an RFC 7523 assertion: aud = the endpoint, unique jti, at most 5 minutes', async () => {
    const args = [
      'service-account',
      'token',
      '--key',
      file,
      '--assertion',
      '--token-endpoint',
      'https://auth.test/token',
    ];
    const a = ok(cli(args)).trim();
    const b = ok(cli(args)).trim();
    const { payload } = await jwtVerify(a, createLocalJWKSet(jwks), { audience: 'https://auth.test/token' });
    assert.equal(payload.iss, 'svc-reports');
    assert.equal(payload.sub, 'svc-reports');
    assert.ok(payload.exp! - payload.iat! <= 300);
    assert.notEqual(payload.jti, decodeJwt(b).jti);
    rejected(cli([...args, '--lifetime', '900']), 'ERR_INVALID_ARGUMENT');
  });

  it('rejects usage errors: no target, two targets, --assertion without an endpoint', () => {
    rejected(cli(['service-account', 'token', '--key', file]), 'ERR_USAGE', 2);
    rejected(cli(['service-account', 'token', '--key', file, '--aud', 'x', '--scope', 'y']), 'ERR_USAGE', 2);
    rejected(cli(['service-account', 'token', '--key', file, '--assertion']), 'ERR_USAGE', 2);
  });
});
