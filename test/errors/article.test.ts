import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withArticle } from '../../src/errors/article.js';

describe('withArticle', () => {
  it('"an" before names read with a vowel sound: algorithms, key types, unknown', () => {
    for (const w of [
      'A256GCM',
      'EdDSA',
      'ES256',
      'HS256',
      'RS256',
      'RSA',
      'OCRA',
      'ed25519',
      'x25519',
      'ec',
      'unknown',
    ])
      assert.equal(withArticle(w), `an ${w}`);
  });
  it('"a" before the others', () => {
    for (const w of ['PS256', 'dsa', 'dh', 'JWKS', 'secret', 'private', 'key', 'mac', 'signed', 'sealed'])
      assert.equal(withArticle(w), `a ${w}`);
  });
});
