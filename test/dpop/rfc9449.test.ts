import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { accessTokenHash, jwkThumbprint, verifyDpopProof } from '../../src/dpop/index.js';
import { OfftokenError } from '../../src/errors/index.js';
import { thumbprint } from '../../src/keys/index.js';
import { MemoryStore } from '../../src/stores/index.js';
import { MapReplayStore } from './helpers.js';

interface ProofVector {
  name: string;
  proof: string;
  header: Record<string, unknown>;
  claims: { jti: string; htm: string; htu: string; iat: number; ath?: string };
  htm: string;
  htu: string;
  accessToken?: string;
}

const doc = JSON.parse(readFileSync(new URL('./vectors/rfc9449.json', import.meta.url), 'utf8')) as {
  source: string;
  jwk: Record<string, unknown>;
  jkt: string;
  proofs: ProofVector[];
};

const code = (c: string) => (e: unknown) => e instanceof OfftokenError && e.code === c;

describe(doc.source, () => {
  it('RFC 9449 6.1: the example key has the published jkt (both thumbprint implementations)', () => {
    assert.equal(jwkThumbprint(doc.jwk), doc.jkt);
    assert.equal(thumbprint(doc.jwk as never), doc.jkt);
  });

  for (const v of doc.proofs) {
    const options = (over: Record<string, unknown> = {}) => ({
      htm: v.htm,
      htu: v.htu,
      ...(v.accessToken !== undefined && { accessToken: v.accessToken }),
      replay: new MapReplayStore(),
      clock: () => v.claims.iat,
      ...over,
    });

    it(`${v.name}: the header and claims are the RFC's`, () => {
      const [h, p] = v.proof.split('.') as [string, string];
      assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString('utf8')), v.header);
      assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url').toString('utf8')), v.claims);
    });

    it(`${v.name}: verifies at its iat, bound to the published jkt`, async () => {
      const r = await verifyDpopProof(v.proof, options({ expectedJkt: doc.jkt }));
      assert.equal(r.jkt, doc.jkt);
      assert.deepEqual(r.claims, v.claims);
      assert.deepEqual(r.jwk, doc.jwk);
    });

    if (v.accessToken !== undefined) {
      it(`${v.name}: ath is the RFC's hash of the example access token`, async () => {
        assert.equal(accessTokenHash(v.accessToken as string), v.claims.ath);
        await assert.rejects(
          verifyDpopProof(v.proof, options({ accessToken: `${v.accessToken}x` })),
          code('ERR_DPOP_ATH_MISMATCH'),
        );
      });
    }

    it(`${v.name}: another method or URI, another key, or the same proof twice is refused`, async () => {
      await assert.rejects(
        verifyDpopProof(v.proof, options({ htm: v.htm === 'GET' ? 'POST' : 'GET' })),
        code('ERR_DPOP_HTM_MISMATCH'),
      );
      await assert.rejects(
        verifyDpopProof(v.proof, options({ htu: `${v.htu}/other` })),
        code('ERR_DPOP_HTU_MISMATCH'),
      );
      await assert.rejects(
        verifyDpopProof(v.proof, options({ expectedJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })),
        code('ERR_DPOP_KEY_MISMATCH'),
      );
      // The store judges expiry by its own clock: give it the verifier's, or a 2019 proof's entry is stale at once.
      const replay = new MemoryStore({ clock: () => v.claims.iat });
      await verifyDpopProof(v.proof, options({ replay }));
      await assert.rejects(verifyDpopProof(v.proof, options({ replay })), code('ERR_DPOP_REPLAYED'));
    });
  }
});
