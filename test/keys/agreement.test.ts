import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildJwks,
  exportJwk,
  generateKey,
  importJwk,
  readKeyFileSync,
  thumbprint,
  writeKeyFileSync,
} from '../../src/keys/index.js';

describe('ECDH-ES keys (readers of nested offline tokens)', () => {
  for (const crv of ['X25519', 'P-256'] as const) {
    it(`${crv}: generated with use enc and a thumbprint kid, round trips through a key file`, () => {
      const k = generateKey('ECDH-ES', { crv });
      assert.deepEqual([k.alg, k.use, k.kty], ['ECDH-ES', 'enc', crv === 'X25519' ? 'OKP' : 'EC']);
      assert.equal(k.kid, thumbprint(exportJwk(k)));
      const file = join(mkdtempSync(join(tmpdir(), 'offtoken-ecdh-')), 'd.key');
      writeKeyFileSync(file, k);
      const back = readKeyFileSync(file);
      assert.deepEqual([back.kid, back.alg, back.use, back.kty], [k.kid, 'ECDH-ES', 'enc', k.kty]);
      assert.equal(back.privateKey?.asymmetricKeyType, crv === 'X25519' ? 'x25519' : 'ec');
      const pub = buildJwks([k]).keys[0]!;
      assert.equal(pub.d, undefined);
      assert.equal(importJwk(pub, { public: true }).kid, k.kid);
    });
  }

  it('defaults to X25519', () => {
    assert.equal(generateKey('ECDH-ES').privateKey?.asymmetricKeyType, 'x25519');
  });

  it('refuses other curves, signature use, and crv for other algs', () => {
    const pub = exportJwk(generateKey('ECDH-ES'));
    const ed = exportJwk(generateKey('EdDSA'));
    assert.throws(() => importJwk({ ...ed, alg: 'ECDH-ES', use: 'enc' }), { code: 'ERR_KEY_ALG_MISMATCH' });
    assert.throws(() => importJwk({ ...pub, use: 'sig' }), { code: 'ERR_KEY_ALG_MISMATCH' });
    assert.throws(() => importJwk({ ...exportJwk(generateKey('ES384')), alg: 'ECDH-ES', use: 'enc' }), {
      code: 'ERR_KEY_ALG_MISMATCH',
    });
    assert.throws(() => importJwk({ ...pub, alg: 'EdDSA', use: 'sig' }), { code: 'ERR_KEY_ALG_MISMATCH' });
    assert.throws(() => generateKey('EdDSA', { crv: 'X25519' }), { code: 'ERR_KEY_INVALID' });
    assert.throws(() => generateKey('ECDH-ES', { crv: 'X448' as never }), { code: 'ERR_KEY_INVALID' });
  });
});
