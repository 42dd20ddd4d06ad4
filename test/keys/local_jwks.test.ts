import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildJwks, generateKey, LocalJwks } from '../../src/keys/index.js';

describe('LocalJwks', () => {
  const a = generateKey('EdDSA');
  const b = generateKey('ES256');
  const jwks = new LocalJwks(buildJwks([a, b]));
  it('selects by kid', () => {
    assert.ok(jwks.resolve({ kid: a.kid, alg: 'EdDSA' }).equals(a.publicKey as never));
  });
  it('rejects an unknown kid', () => {
    assert.throws(() => jwks.resolve({ kid: 'nope', alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
  it('rejects a kid whose key has another alg', () => {
    assert.throws(() => jwks.resolve({ kid: a.kid, alg: 'ES256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
  it('rejects ambiguity without kid', () => {
    const two = new LocalJwks(buildJwks([generateKey('ES256'), b]));
    assert.throws(() => two.resolve({ alg: 'ES256' }), { code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
  });
  it('rejects a non-JWKS', () => {
    assert.throws(() => new LocalJwks({} as never), { code: 'ERR_JWKS_INVALID' });
  });
});
