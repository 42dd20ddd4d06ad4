import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { buildJwks, generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const ed = generateKey('EdDSA');
const es = generateKey('ES256');
const hs = generateKey('HS256');
const files = {
  ed: join(dir, 'ed.key'),
  es: join(dir, 'es.key'),
  hs: join(dir, 'hs.key'),
  jwks: join(dir, 'jwks.json'),
};
writeKeyFileSync(files.ed, ed);
writeKeyFileSync(files.es, es);
writeKeyFileSync(files.hs, hs);
const jwks = buildJwks([ed, es]);
writeFileSync(files.jwks, JSON.stringify(jwks));
const secret = hs.secretKey!.export().toString('base64url');
const claims = JSON.stringify({ iss: 'https://issuer.test', sub: 'alice', aud: 'api' });

function sign(file: string, extra: string[] = []): string {
  return ok(cli(['jwt', 'sign', '--key', file, '--claims', claims, ...extra])).trim();
}

describe('offtoken jwt sign / verify', () => {
  const edToken = sign(files.ed, ['--ttl', '120']);

  it('signs with the key file and verifies with the JWKS, printing the payload JSON', () => {
    const out = JSON.parse(
      ok(
        cli([
          'jwt',
          'verify',
          edToken,
          '--jwks',
          files.jwks,
          '--alg',
          'EdDSA',
          '--iss',
          'https://issuer.test',
          '--aud',
          'api',
          '--require-exp',
        ]),
      ),
    );
    assert.equal(out.sub, 'alice');
    assert.equal(out.exp - out.iat, 120);
  });

  it('reads the token from stdin when it is - or absent', () => {
    const a = JSON.parse(
      ok(cli(['jwt', 'verify', '-', '--jwks', files.jwks, '--alg', 'EdDSA'], { input: `${edToken}\n` })),
    );
    const b = JSON.parse(
      ok(cli(['jwt', 'verify', '--jwks', files.jwks, '--alg', 'EdDSA', '--json'], { input: edToken })),
    );
    assert.equal(a.sub, 'alice');
    assert.deepEqual(a, b);
  });

  it('rejects an expired token with exit 1 and ERR_JWT_EXPIRED (and honours --clock-tolerance)', () => {
    const exp = JSON.parse(Buffer.from(edToken.split('.')[1]!, 'base64url').toString()).exp as number;
    rejected(
      cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'EdDSA', '--now', String(exp)]),
      'ERR_JWT_EXPIRED',
    );
    ok(
      cli([
        'jwt',
        'verify',
        edToken,
        '--jwks',
        files.jwks,
        '--alg',
        'EdDSA',
        '--now',
        String(exp),
        '--clock-tolerance',
        '5',
      ]),
    );
  });

  it('rejects an algorithm outside --alg with ERR_JOSE_ALG_NOT_ALLOWED', () => {
    rejected(
      cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'ES256,RS256']),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
  });

  it('rejects a bad signature with ERR_JWS_SIGNATURE_INVALID', () => {
    const [h, p, s] = edToken.split('.') as [string, string, string];
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    rejected(
      cli(['jwt', 'verify', `${h}.${p}.${flipped}`, '--jwks', files.jwks, '--alg', 'EdDSA']),
      'ERR_JWS_SIGNATURE_INVALID',
    );
  });

  it('rejects a wrong issuer or audience with ERR_JWT_CLAIM_INVALID', () => {
    rejected(
      cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'EdDSA', '--iss', 'https://other.test']),
      'ERR_JWT_CLAIM_INVALID',
    );
    rejected(
      cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'EdDSA', '--aud', 'other']),
      'ERR_JWT_CLAIM_INVALID',
    );
  });

  it('checks --typ, and --require-exp rejects a token without exp', () => {
    const typed = sign(files.es, ['--typ', 'at+jwt']);
    ok(cli(['jwt', 'verify', typed, '--jwks', files.jwks, '--alg', 'ES256', '--typ', 'application/at+jwt']));
    rejected(
      cli(['jwt', 'verify', typed, '--jwks', files.jwks, '--alg', 'ES256', '--typ', 'JWT']),
      'ERR_JWT_CLAIM_INVALID',
    );
    // `jwt sign` always sets exp (default 1 h, or the claims' own); a token without one comes from elsewhere
    const withExp = ok(
      cli(['jwt', 'sign', '--key', files.es, '--claims', '{"sub":"bob","exp":4102444800}']),
    ).trim();
    assert.equal(
      JSON.parse(ok(cli(['jwt', 'verify', withExp, '--jwks', files.jwks, '--alg', 'ES256', '--require-exp'])))
        .exp,
      4102444800,
    );
    const noExp = signJwt({ sub: 'bob' }, es.privateKey!, { alg: 'ES256', kid: es.kid });
    ok(cli(['jwt', 'verify', noExp, '--jwks', files.jwks, '--alg', 'ES256']));
    rejected(
      cli(['jwt', 'verify', noExp, '--jwks', files.jwks, '--alg', 'ES256', '--require-exp']),
      'ERR_JWT_CLAIM_INVALID',
    );
  });

  it('verifies HS256 with --secret and refuses a secret that is too short', () => {
    const token = sign(files.hs);
    assert.equal(
      JSON.parse(ok(cli(['jwt', 'verify', token, '--secret', secret, '--alg', 'HS256']))).sub,
      'alice',
    );
    rejected(cli(['jwt', 'verify', token, '--secret', 'c2hvcnQ', '--alg', 'HS256']), 'ERR_JOSE_KEY_MISMATCH');
  });

  it('rejects usage errors with exit 2: no key source, alg none, a malformed --now', () => {
    rejected(cli(['jwt', 'verify', edToken, '--alg', 'EdDSA']), 'ERR_USAGE', 2);
    rejected(cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'none']), 'ERR_USAGE', 2);
    rejected(
      cli(['jwt', 'verify', edToken, '--jwks', files.jwks, '--alg', 'EdDSA', '--now', 'soon']),
      'ERR_USAGE',
      2,
    );
  });

  it('rejects a malformed token with ERR_JWS_INVALID', () => {
    rejected(
      cli(['jwt', 'verify', 'not-a-token', '--jwks', files.jwks, '--alg', 'EdDSA']),
      'ERR_JWS_INVALID',
    );
  });
});

describe('offtoken jwt inspect', () => {
  it('decodes without trusting and says so', () => {
    const token = sign(files.ed);
    const out = JSON.parse(ok(cli(['jwt', 'inspect', token, '--json'])));
    assert.equal(out.verified, false);
    assert.match(out.note, /WITHOUT verifying/);
    assert.equal(out.header.alg, 'EdDSA');
    assert.equal(out.header.kid, ed.kid);
    assert.equal(out.payload.sub, 'alice');
  });
});

describe('interop with jose', () => {
  it('a token signed by `jwt sign` verifies with jose', async () => {
    for (const file of [files.ed, files.es]) {
      const token = sign(file);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
        issuer: 'https://issuer.test',
        audience: 'api',
      });
      assert.equal(payload.sub, 'alice');
      assert.equal(protectedHeader.typ, 'JWT');
    }
    const { payload } = await jwtVerify(sign(files.hs), createSecretKey(Buffer.from(secret, 'base64url')));
    assert.equal(payload.sub, 'alice');
  });

  it('a token signed by jose verifies with `jwt verify`', async () => {
    const token = await new SignJWT({ sub: 'carol' })
      .setProtectedHeader({ alg: 'ES256', kid: es.kid })
      .setIssuer('https://issuer.test')
      .setExpirationTime('5m')
      .sign(es.privateKey!);
    const out = JSON.parse(
      ok(
        cli(['jwt', 'verify', token, '--jwks', files.jwks, '--alg', 'ES256', '--iss', 'https://issuer.test']),
      ),
    );
    assert.equal(out.sub, 'carol');
  });
});
