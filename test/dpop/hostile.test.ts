import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { attenuate, caveat, mintAttenuated, verifyAttenuated } from '../../src/attenuation/index.js';
import {
  createIntermediary,
  deriveDownscopedToken,
  verifyDownscopedToken,
} from '../../src/downscope/index.js';
import { createDpopProof, verifyDpopProof } from '../../src/dpop/index.js';
import { OfftokenError } from '../../src/errors/index.js';
import { MapReplayStore } from './helpers.js';

// Every single-character mutation of a valid token must end in a typed error (or, for a mutation that does
// not change the decoded bytes, success with exactly the original result) - never a TypeError, a crash, a hang,
// or an accepted token that says something else.
const ALPHABET = 'A_-.~x';
function* mutations(t: string) {
  for (let i = 0; i < t.length; i += 3) {
    for (const c of ALPHABET) if (t[i] !== c) yield t.slice(0, i) + c + t.slice(i + 1);
  }
  yield t.slice(0, -1);
  yield `${t}.`;
  yield '';
}

function typed(e: unknown, allowed: string[]) {
  if (e instanceof assert.AssertionError) throw e;
  assert.ok(e instanceof OfftokenError, `untyped error: ${String(e)}`);
  assert.ok(allowed.includes(e.code), `unexpected code ${e.code}`);
}

/** An accepted mutation gives back the original result, and every segment decodes to the original bytes. */
function sameAsOriginal(m: string, original: string, got: unknown, want: unknown): void {
  assert.deepEqual(got, want, `accepted mutation ${m} gave another result`);
  const decoded = (t: string) => t.split(/[.~]/).map((seg) => Buffer.from(seg, 'base64url').toString('hex'));
  assert.deepEqual(decoded(m), decoded(original), `accepted mutation ${m} carries other bytes`);
}

describe('hostile input', () => {
  it('mutated DPoP proofs fail with DPoP codes only', async () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const T = 1_800_000_000;
    const proof = createDpopProof({
      privateKey: k.privateKey,
      htm: 'GET',
      htu: 'https://a.test/r',
      accessToken: 'at',
      clock: () => T,
    });
    const verify = (t: string) =>
      verifyDpopProof(t, {
        htm: 'GET',
        htu: 'https://a.test/r',
        accessToken: 'at',
        replay: new MapReplayStore(),
        clock: () => T,
      });
    const original = await verify(proof);
    let rejected = 0;
    for (const m of mutations(proof)) {
      try {
        sameAsOriginal(m, proof, await verify(m), original);
      } catch (e) {
        typed(e, [
          'ERR_DPOP_PROOF_INVALID',
          'ERR_DPOP_ALG_INVALID',
          'ERR_DPOP_JWK_INVALID',
          'ERR_DPOP_HTU_MISMATCH',
          'ERR_DPOP_HTM_MISMATCH',
          'ERR_DPOP_IAT_INVALID',
          'ERR_DPOP_ATH_MISMATCH',
        ]);
        rejected++;
      }
    }
    assert.ok(rejected > 100);
  });

  it('mutated attenuated tokens fail with attenuation codes only', () => {
    const root = randomBytes(32);
    const t = attenuate(mintAttenuated(root, 'id', [caveat.actions('read')]), caveat.resourcePrefix('/a/'));
    const original = verifyAttenuated(root, t, { action: 'read', resource: '/a/b' });
    let rejected = 0;
    for (const m of mutations(t)) {
      try {
        sameAsOriginal(m, t, verifyAttenuated(root, m, { action: 'read', resource: '/a/b' }), original);
      } catch (e) {
        typed(e, ['ERR_ATTENUATION_INVALID', 'ERR_INPUT_TOO_LARGE']);
        rejected++;
      }
    }
    assert.ok(rejected > 100);
  });

  it('mutated downscoped tokens fail with downscope codes only', () => {
    const as = generateKeyPairSync('ed25519');
    const rsKey = createSecretKey(randomBytes(32));
    const T = 1_800_000_000;
    const i = createIntermediary({
      iss: 'x',
      sub: 's',
      grant: [{ resource_prefix: 'r/', permissions: ['read'] }],
      exp: T + 60,
      signingKey: as.privateKey,
      rsKey,
      rsKid: 'k',
      clock: () => T,
    });
    const t = deriveDownscopedToken(
      i.token,
      i.sessionKey,
      [{ resource_prefix: 'r/x/', permissions: ['read'] }],
      { clock: () => T },
    );
    const verify = (token: string) =>
      verifyDownscopedToken(token, {
        intermediaryVerifier: as.publicKey,
        rsKey,
        clock: () => T,
        resource: 'r/x/1',
        permission: 'read',
      });
    const original = verify(t);
    let rejected = 0;
    for (const m of mutations(t)) {
      try {
        sameAsOriginal(m, t, verify(m), original);
      } catch (e) {
        typed(e, [
          'ERR_DOWNSCOPE_INVALID',
          'ERR_DOWNSCOPE_EXPIRED',
          'ERR_DOWNSCOPE_WIDENS_GRANT',
          'ERR_DOWNSCOPE_DENIED',
        ]);
        rejected++;
      }
    }
    assert.ok(rejected > 100);
  });
});
