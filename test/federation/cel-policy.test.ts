import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelAttributeMapper } from '../../src/federation/cel.js';

const claims = { sub: 'u1', team: 'payments', groups: ['a', 'b'] };
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
};

describe('federation policy lists (allowed_scopes, default_scopes, allowed_audiences)', () => {
  it('computes lists with CEL from the external token and passes static lists through', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, {
      allowed_scopes: "assertion.groups.map(g, 'read:' + g + '/')",
      default_scopes: ['read:a/'],
      allowed_audiences: "['https://' + assertion.team + '.internal']",
    });
    assert.deepEqual(m.map(claims).policy, {
      scopes: ['read:a/', 'read:b/'],
      defaultScopes: ['read:a/'],
      audiences: ['https://payments.internal'],
    });
  });

  it('leaves a list the provider does not configure undefined (deny-by-default)', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, { allowed_audiences: ['x'] });
    assert.deepEqual(m.map(claims).policy, { audiences: ['x'] });
  });

  for (const [name, expr] of [
    ['a string instead of a list', "'read'"],
    ['a list holding a number', "['read', 1]"],
    ['a list holding an empty string', "['']"],
    ['an evaluation error (missing claim)', 'assertion.nope'],
    ['257 entries', `[${Array.from({ length: 257 }, () => "'x'").join(', ')}]`],
  ] as const)
    it(`refuses a CEL list that yields ${name} with ERR_FEDERATION_MAPPING`, () => {
      const m = new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, { allowed_scopes: expr });
      assert.equal(
        code(() => m.map(claims)),
        'ERR_FEDERATION_MAPPING',
      );
    });

  it('accepts a computed list of 256 entries', () => {
    const expr = `[${Array.from({ length: 256 }, (_, i) => `'s${i}'`).join(', ')}]`;
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, { allowed_scopes: expr });
    assert.equal(m.map(claims).policy.scopes?.length, 256);
  });

  it('refuses a list expression that does not compile when the provider is loaded', () => {
    assert.equal(
      code(() => new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, { allowed_audiences: '[' })),
      'ERR_FEDERATION_MAPPING',
    );
  });

  it('refuses mapped claims over 16 KiB of JSON', () => {
    // a larger CEL value size than the default, so that the mapped-claims limit is the one reached
    const m = new CelAttributeMapper(
      { subject: 'assertion.sub', blob: 'assertion.blob' },
      undefined,
      {},
      {
        maxValueSize: 32 * 1024,
      },
    );
    assert.equal(
      code(() => m.map({ ...claims, blob: 'x'.repeat(16 * 1024) })),
      'ERR_FEDERATION_MAPPING',
    );
    assert.equal(
      (m.map({ ...claims, blob: 'x'.repeat(16 * 1024 - 20) }).attributes.blob as string).length,
      16 * 1024 - 20,
    );
  });

  it('with the default CEL budget, a claim over its value size is ERR_CEL_COST_EXCEEDED first', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub', blob: 'assertion.blob' });
    assert.equal(
      code(() => m.map({ ...claims, blob: 'x'.repeat(16 * 1024) })),
      'ERR_CEL_COST_EXCEEDED',
    );
  });
});
