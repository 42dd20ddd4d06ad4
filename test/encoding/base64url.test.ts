import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBase64url, encodeBase64url } from '../../src/encoding/base64url.js';
import { EncodingError } from '../../src/errors/base.js';

describe('base64url', () => {
  it('round-trips bytes without padding', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0x00, 0x01]);
    const s = encodeBase64url(bytes);
    assert.equal(s, '-_8AAQ');
    assert.deepEqual(decodeBase64url(s), bytes);
  });

  for (const bad of ['ab+c', 'ab/c', 'abc=', 'a', 'ab c', 'abcde']) {
    it(`rejects ${JSON.stringify(bad)} with ERR_ENCODING_INVALID`, () => {
      assert.throws(
        () => decodeBase64url(bad),
        (e: unknown) => e instanceof EncodingError && e.code === 'ERR_ENCODING_INVALID',
      );
    });
  }
});
