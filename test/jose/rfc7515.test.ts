import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { verifyJwt } from '../../src/jose/index.js';
import { importJwk } from '../../src/keys/index.js';
import { runJwsVectors } from './vector_cases.js';

const file = new URL('./vectors/rfc7515.json', import.meta.url);
runJwsVectors(file);

// A.1 is also a JWT: exp 1300819380 makes a precise boundary for RFC 7519 4.1.4.
it('RFC 7515 A.1 as a JWT: valid one second before exp, expired at exp', () => {
  const a1 = JSON.parse(readFileSync(file, 'utf8')).cases[0];
  const key = importJwk(a1.jwk, { alg: 'HS256' }).secretKey;
  const policy = { algorithms: ['HS256'] as const, typ: 'JWT', issuer: 'joe' };
  const ok = verifyJwt(a1.token, key as never, { ...policy, algorithms: ['HS256'], now: 1300819379 });
  assert.equal(ok.payload['http://example.com/is_root'], true);
  assert.throws(
    () => verifyJwt(a1.token, key as never, { ...policy, algorithms: ['HS256'], now: 1300819380 }),
    {
      code: 'ERR_JWT_EXPIRED',
    },
  );
});
