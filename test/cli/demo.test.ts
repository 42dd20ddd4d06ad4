import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { cli, ok } from './helpers.js';

describe('offtoken demo', () => {
  it('generates, signs, verifies offline and shows three rejections, leaving nothing behind', () => {
    const steps = JSON.parse(ok(cli(['demo', '--json']))) as {
      step: string;
      ok: boolean;
      code?: string;
      file?: string;
      mode?: string;
      payload?: { sub: string };
    }[];
    assert.deepEqual(
      steps.map((s) => s.step),
      [
        'generate',
        'write key file',
        'sign',
        'verify offline',
        'reject tampered',
        'reject expired',
        'reject other alg',
      ],
    );
    assert.ok(steps.every((s) => s.ok));
    assert.equal(steps[1]!.mode, '600');
    assert.equal(steps[3]!.payload!.sub, 'alice');
    assert.deepEqual(
      steps.slice(4).map((s) => s.code),
      ['ERR_JWS_SIGNATURE_INVALID', 'ERR_JWT_EXPIRED', 'ERR_JOSE_ALG_NOT_ALLOWED'],
    );
    // the key file lived in a temp directory, removed at the end
    assert.match(steps[1]!.file!, /offtoken-demo-/);
    assert.equal(existsSync(steps[1]!.file!), false);
  });

  it('prints numbered steps for a person', () => {
    const out = ok(cli(['demo', '--alg', 'HS256']));
    assert.match(out, /^1\. Generated a new HS256 key/m);
    assert.match(out, /^7\. .*ERR_JOSE_ALG_NOT_ALLOWED/m);
  });
});
