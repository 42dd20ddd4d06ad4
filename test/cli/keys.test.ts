import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { importJwk, readKeyFileSync, thumbprint } from '../../src/keys/index.js';
import { AuthorityKeyring } from '../../src/server/keyring.js';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

describe('offtoken keys generate', () => {
  for (const alg of ['EdDSA', 'ES256', 'RS256', 'HS256', 'A256GCM'] as const) {
    it(`writes a ${alg} key file with mode 0600 and prints its kid and alg`, () => {
      const file = join(dir, `${alg}.key`);
      const info = JSON.parse(ok(cli(['keys', 'generate', '--alg', alg, '--out', file, '--json'])));
      assert.equal(info.alg, alg);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const key = readKeyFileSync(file);
      assert.equal(key.alg, alg);
      assert.equal(key.kid, info.kid);
      assert.ok(key.privateKey ?? key.secretKey);
    });
  }

  it('encrypts with --passphrase-env; reading needs the passphrase', () => {
    const file = join(dir, 'enc.key');
    const env = { KEY_PW: 'correct horse battery staple' };
    const info = JSON.parse(
      ok(
        cli(['keys', 'generate', '--alg', 'ES256', '--out', file, '--passphrase-env', 'KEY_PW', '--json'], {
          env,
        }),
      ),
    );
    assert.equal(info.encrypted, true);
    assert.ok(!readFileSync(file, 'utf8').includes('"d"'));
    rejected(cli(['keys', 'jwks', file]), 'ERR_KEYFILE_DECRYPT_FAILED');
    rejected(
      cli(['keys', 'jwks', file, '--passphrase-env', 'KEY_PW'], { env: { KEY_PW: 'wrong' } }),
      'ERR_KEYFILE_DECRYPT_FAILED',
    );
    const set = JSON.parse(ok(cli(['keys', 'jwks', file, '--passphrase-env', 'KEY_PW'], { env })));
    assert.equal(set.keys[0].kid, info.kid);
  });

  it('rejects an unset passphrase variable, an unknown alg and an existing file (usage, exit 2)', () => {
    rejected(
      cli([
        'keys',
        'generate',
        '--alg',
        'EdDSA',
        '--out',
        join(dir, 'x.key'),
        '--passphrase-env',
        'NOT_SET_ANYWHERE',
      ]),
      'ERR_USAGE',
      2,
    );
    rejected(cli(['keys', 'generate', '--alg', 'HS128', '--out', join(dir, 'y.key')]), 'ERR_USAGE', 2);
    rejected(cli(['keys', 'generate', '--alg', 'EdDSA', '--out', join(dir, 'EdDSA.key')]), 'ERR_USAGE', 2);
  });
});

describe('offtoken keys jwks / thumbprint', () => {
  it('prints a public JWKS with no private member; secret keys are left out', () => {
    const files = ['EdDSA', 'ES256', 'RS256', 'HS256'].map((a) => join(dir, `${a}.key`));
    const set = JSON.parse(ok(cli(['keys', 'jwks', ...files])));
    assert.deepEqual(set.keys.map((k: { alg: string }) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256']);
    for (const k of set.keys) {
      for (const m of PRIVATE) assert.equal(k[m], undefined, `${k.alg} leaks ${m}`);
      // each published key imports as a public key
      assert.ok(importJwk(k, { public: true }).publicKey);
    }
  });

  it('refuses a JWKS of secret keys only', () => {
    rejected(cli(['keys', 'jwks', join(dir, 'HS256.key')]), 'ERR_KEY_INVALID');
  });

  it('prints the RFC 7638 thumbprint (the default kid) and refuses it for a secret key', () => {
    const file = join(dir, 'EdDSA.key');
    const key = readKeyFileSync(file);
    assert.equal(ok(cli(['keys', 'thumbprint', file])).trim(), thumbprint(key));
    assert.equal(thumbprint(key), key.kid);
    rejected(cli(['keys', 'thumbprint', join(dir, 'HS256.key')]), 'ERR_KEY_INVALID');
  });

  it('refuses a group-readable private key file', () => {
    const file = join(dir, 'loose.key');
    writeFileSync(file, readFileSync(join(dir, 'EdDSA.key')), { mode: 0o644 });
    rejected(cli(['keys', 'thumbprint', file]), 'ERR_KEYFILE_PERMISSIONS');
  });
});

describe('offtoken keys rotate', () => {
  it('rotates the authority keyring as the server does: new active kid, the old key verify-only until --retire-after', () => {
    const dataDir = tempDir();
    const ring = AuthorityKeyring.openOrCreate(join(dataDir, 'keyring.json'), 'EdDSA', 1_000);
    const before = ring.activeKeyId;
    const out = JSON.parse(
      ok(cli(['keys', 'rotate', '--data-dir', dataDir, '--retire-after', '600', '--json'])),
    );
    assert.equal(out.previous, before);
    assert.notEqual(out.kid, before);
    assert.equal(out.alg, 'EdDSA');
    const reread = AuthorityKeyring.openExisting(join(dataDir, 'keyring.json'));
    assert.equal(reread.activeKeyId, out.kid);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(reread.publicKey(before, now), 'the previous key still verifies');
    assert.equal(reread.publicKey(before, out.previous_verify_only_until), undefined);

    const plain = ok(cli(['keys', 'rotate', '--data-dir', dataDir, '--alg', 'ES256'])).trim();
    const again = AuthorityKeyring.openExisting(join(dataDir, 'keyring.json'));
    assert.equal(again.activeKeyId, plain);
    assert.equal(again.jwks(now).keys.find((k) => k.kid === plain)?.alg, 'ES256');
  });

  it('rejects a missing keyring and an alg the authority does not sign with', () => {
    rejected(cli(['keys', 'rotate', '--data-dir', tempDir()]), 'ERR_SERVER_CONFIG');
    rejected(cli(['keys', 'rotate', '--data-dir', tempDir(), '--alg', 'HS256']), 'ERR_USAGE', 2);
  });
});
