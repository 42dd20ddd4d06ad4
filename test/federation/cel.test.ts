import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelAttributeMapper } from '../../src/federation/index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

const claims = {
  sub: 'repo:acme/app',
  repository: 'acme/app',
  repository_owner: 'acme',
  groups: ['a', 'b'],
  n: 3,
};

describe('CEL attribute mapping', () => {
  it('maps subject and attributes, lists and numbers included', () => {
    const m = new CelAttributeMapper(
      {
        subject: 'assertion.sub',
        'attribute.repo': 'assertion.repository',
        groups: 'assertion.groups',
        big: 'assertion.n > 2.0',
      },
      "assertion.repository_owner == 'acme'",
    );
    assert.deepEqual(m.map(claims), {
      subject: 'repo:acme/app',
      attributes: { 'attribute.repo': 'acme/app', groups: ['a', 'b'], big: true },
      policy: {},
    });
  });
  it('rejects when the condition is false', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, "assertion.repository_owner == 'other'");
    assert.equal(
      code(() => m.map(claims)),
      'ERR_FEDERATION_CONDITION_FAILED',
    );
  });
  it('rejects at compile time a syntax error', () => {
    assert.equal(
      code(() => new CelAttributeMapper({ subject: 'assertion.sub ((' })),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('rejects a mapping without subject', () => {
    assert.equal(
      code(() => new CelAttributeMapper({ repo: 'assertion.repository' })),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('a condition that is not a bool is a mapping error', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, 'assertion.sub');
    assert.equal(
      code(() => m.map(claims)),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('a missing claim is a mapping error, not a crash', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.missing' });
    assert.equal(
      code(() => m.map(claims)),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('a subject that is not a string is rejected', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.n' });
    assert.equal(
      code(() => m.map(claims)),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('claims nested too deeply are rejected', () => {
    let deep: Record<string, unknown> = { sub: 'x' };
    for (let i = 0; i < 40; i++) deep = { sub: 'x', d: deep };
    const m = new CelAttributeMapper({ subject: 'assertion.sub' });
    assert.equal(
      code(() => m.map(deep)),
      'ERR_FEDERATION_MAPPING',
    );
  });
  it('refuses an O(n^2) condition over a 3,500-element claim with ERR_CEL_COST_EXCEEDED', () => {
    const big = { ...claims, groups: Array.from({ length: 3500 }, (_, i) => `g${i}`) };
    const m = new CelAttributeMapper(
      { subject: 'assertion.sub' },
      'assertion.groups.all(a, assertion.groups.exists(b, b == a))',
    );
    assert.equal(
      code(() => m.map(big)),
      'ERR_CEL_COST_EXCEEDED',
    );
    // a linear condition over the same claim is fine
    const ok = new CelAttributeMapper({ subject: 'assertion.sub' }, "'g3499' in assertion.groups");
    assert.equal(ok.map(big).subject, 'repo:acme/app');
  });
  it('refuses a mapping over the budget when the configuration is loaded', () => {
    const L = '[0,1,2,3,4,5,6,7,8,9]';
    let e = 'assertion.sub';
    for (let i = 0; i < 7; i++) e = `${L}.map(v${i}, ${e})`;
    assert.equal(
      code(() => new CelAttributeMapper({ subject: 'assertion.sub', x: e })),
      'ERR_CEL_COST_EXCEEDED',
    );
  });
  it('refuses a claim beyond the value size of the budget', () => {
    const m = new CelAttributeMapper({ subject: 'assertion.sub' }, undefined, {}, { maxValueSize: 16 });
    assert.equal(
      code(() => m.map({ ...claims, blob: 'x'.repeat(17) })),
      'ERR_CEL_COST_EXCEEDED',
    );
  });
});
