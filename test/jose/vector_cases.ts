import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { signJws, verifyJws } from '../../src/jose/index.js';
import type { JwsAlg } from '../../src/jose/types.js';
import { importJwk, thumbprint } from '../../src/keys/index.js';
import type { Jwk } from '../../src/keys/types.js';

interface JwsVector {
  name: string;
  alg: JwsAlg;
  deterministic: boolean;
  jwk: Jwk;
  thumbprint?: string;
  header: Record<string, unknown>;
  payload: string;
  token: string;
}

/** One table-driven suite per vector file: verify, reproduce when deterministic, reject a flipped bit. */
export function runJwsVectors(file: URL): void {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { source: string; cases: JwsVector[] };
  describe(doc.source, () => {
    for (const v of doc.cases) {
      const key = importJwk(v.jwk, { alg: v.alg });
      const verifyKey = key.kty === 'oct' ? key.secretKey : key.publicKey;
      const signKey = key.kty === 'oct' ? key.secretKey : key.privateKey;

      it(`${v.name}: verifies, with the expected header and payload`, () => {
        const r = verifyJws(v.token, verifyKey as never, { algorithms: [v.alg] });
        assert.deepEqual({ ...r.header }, v.header);
        assert.equal(r.payload.toString('utf8'), v.payload);
      });

      if (v.deterministic)
        it(`${v.name}: signing reproduces the token byte for byte`, () => {
          assert.equal(signJws(v.payload, signKey as never, v.header as never), v.token);
        });
      else
        it(`${v.name}: a fresh signature over the same input verifies`, () => {
          const again = signJws(v.payload, signKey as never, v.header as never);
          assert.equal(
            verifyJws(again, verifyKey as never, { algorithms: [v.alg] }).payload.toString(),
            v.payload,
          );
        });

      it(`${v.name}: a flipped signature bit is refused`, () => {
        const dot = v.token.lastIndexOf('.');
        const sig = Buffer.from(v.token.slice(dot + 1), 'base64url');
        sig[sig.length >> 1] = (sig[sig.length >> 1] as number) ^ 0x01;
        const bad = `${v.token.slice(0, dot + 1)}${sig.toString('base64url')}`;
        assert.throws(() => verifyJws(bad, verifyKey as never, { algorithms: [v.alg] }), {
          code: 'ERR_JWS_SIGNATURE_INVALID',
        });
      });

      if (v.thumbprint !== undefined)
        it(`${v.name}: the key's RFC 7638 thumbprint`, () => {
          const { d: _d, ...pub } = v.jwk;
          assert.equal(thumbprint(pub as Jwk), v.thumbprint);
        });
    }
  });
}
