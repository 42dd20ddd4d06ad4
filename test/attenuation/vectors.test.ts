import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mintAttenuated, parseAttenuated, verifyChain } from '../../src/attenuation/index.js';

// Chains computed independently with `openssl dgst -sha256 -mac HMAC` (sig_0 over the identifier, then
// each caveat keyed by the previous signature).
const vectors = JSON.parse(readFileSync('test/attenuation/vectors/chain.json', 'utf8')) as {
  description: string;
  rootKeyHex: string;
  identifier: string;
  caveats: string[];
  signature: string;
  token: string;
}[];

describe('attenuation chain known answers', () => {
  for (const v of vectors) {
    it(`matches: ${v.description} (${v.identifier})`, () => {
      const root = Buffer.from(v.rootKeyHex, 'hex');
      const t = mintAttenuated(root, v.identifier, v.caveats);
      assert.equal(t, v.token);
      assert.equal(parseAttenuated(t).sig.toString('base64url'), v.signature);
      assert.deepEqual(verifyChain(root, v.token).caveats, v.caveats);
    });
  }
});
