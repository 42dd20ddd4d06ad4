import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as api from '../../src/index.js';

// Error codes are a public contract: every code a class declares must be documented, and unique.
const declared = new Map<string, string>();
for (const file of readdirSync('src/errors').filter((f) => f.endsWith('.ts'))) {
  const text = readFileSync(join('src/errors', file), 'utf8');
  for (const m of text.matchAll(
    /class (\w+) extends \w+ \{\s*override readonly code: string = '(ERR_[A-Z0-9_]+)'/g,
  )) {
    declared.set(m[1]!, m[2]!);
  }
}

describe('error codes', () => {
  it('are declared by the error classes', () => {
    assert.ok(declared.size >= 4, `found only ${declared.size} error classes`);
  });

  it('are unique across classes', () => {
    const seen = new Map<string, string>();
    for (const [cls, code] of declared) {
      assert.ok(!seen.has(code), `${code} is declared by both ${seen.get(code)} and ${cls}`);
      seen.set(code, cls);
    }
  });

  it('are all documented in docs/errors.md', () => {
    const doc = readFileSync('docs/errors.md', 'utf8');
    const missing = [...declared.values()].filter((code) => !doc.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('are exported from the public API with a matching instance code', () => {
    for (const [cls, code] of declared) {
      const Ctor = (api as Record<string, unknown>)[cls];
      assert.equal(typeof Ctor, 'function', `${cls} is not exported from src/index.ts`);
      const e = new (Ctor as new (m: string) => api.OfftokenError)('x');
      assert.equal(e.code, code);
      assert.ok(e instanceof api.OfftokenError);
    }
  });
});
