import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CelEngine, celBudget, DEFAULT_CEL_BUDGET } from '../../src/cel/index.js';

const invalid = (why: string) => Object.assign(new Error(why), { code: 'SYNTAX' });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

const engine = new CelEngine();
const run = (expr: string, vars: Record<string, unknown> = {}, e = engine) => {
  const p = e.compile(expr, invalid);
  const bindings = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, e.input(v)]));
  return p.evaluateJson(bindings);
};
const L10 = '[0,1,2,3,4,5,6,7,8,9]';
const nestedMaps = (levels: number) => {
  let e = '1';
  for (let i = 0; i < levels; i++) e = `${L10}.map(v${i}, ${e})`;
  return e;
};
const groups = (n: number) => Array.from({ length: n }, (_, i) => `group-${i}`);

describe('CEL budget', () => {
  it('refuses 7 nested map() calls when compiling', () => {
    assert.equal(
      code(() => engine.compile(nestedMaps(7), invalid)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('refuses nested comprehensions within the depth limit once their ranges multiply past the budget', () => {
    // 3 levels (the default limit) over 100-element ranges: 10^6 iterations, refused at the second level
    const L100 = `[${Array.from({ length: 100 }, (_, i) => i).join(',')}]`;
    const e = `${L100}.map(a, ${L100}.map(b, ${L100}.map(c, a + b + c)))`;
    assert.equal(
      code(() => run(e)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('refuses an O(n^2) condition over a 3,500-element claim', () => {
    assert.equal(
      code(() => run('x.all(a, x.exists(b, a == b + "z") || true)', { x: groups(3500) })),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('still runs linear expressions over the same 3,500-element claim', () => {
    assert.deepEqual(run("'group-3499' in x", { x: groups(3500) }), { value: true });
    assert.deepEqual(run("x.filter(g, g.endsWith('-7')).size()", { x: groups(3500) }), { value: 1 });
    assert.deepEqual(run("x.map(g, g + '!').size()", { x: groups(3500) }), { value: 3500 });
  });

  it('refuses a string doubled past the value size', () => {
    const e = `['abcdefgh']${'.map(x, x + x)'.repeat(40)}[0].size()`;
    assert.equal(
      code(() => run(e)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('refuses a list doubled past the value size', () => {
    const e = `[[1,2,3,4,5,6,7,8]]${'.map(x, x + x)'.repeat(30)}[0].size()`;
    assert.equal(
      code(() => run(e)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('charges equality over a value shared many times (a DAG) by its unfolded size', () => {
    const dag = `[[1]]${'.map(x, [x, x])'.repeat(30)}`;
    assert.equal(
      code(() => run(`${dag} == ${dag}`)),
      'ERR_CEL_COST_EXCEEDED',
    );
    // and the conversion of such a result to JSON
    assert.equal(
      code(() => run(dag)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('charges a regular expression by the size of its compiled program', () => {
    assert.equal(
      code(() => run(`'a'.matches('${'a{1,1000}'.repeat(10)}')`)),
      'ERR_CEL_COST_EXCEEDED',
    );
    assert.equal(
      code(() => run(`'a'.matches('${'[\\\\p{L}\\\\p{N}]'.repeat(150)}')`)),
      'ERR_CEL_COST_EXCEEDED',
    );
    assert.deepEqual(run("'alice@example.com'.matches('^[a-z.]+@example[.]com$')"), { value: true });
  });

  it('refuses brackets nested deeper than 32 before parsing (the parser backtracks on them)', () => {
    assert.equal(
      code(() => engine.compile(`${'{'.repeat(300)}1`, invalid)),
      'ERR_CEL_COST_EXCEEDED',
    );
    assert.equal(
      code(() => engine.compile(`${'('.repeat(33)}1${')'.repeat(33)}`, invalid)),
      'ERR_CEL_COST_EXCEEDED',
    );
    // brackets inside string literals do not count
    assert.deepEqual(run(`'${'('.repeat(40)}'.size()`), { value: 40 });
  });

  it('refuses an expression of more nodes than the budget allows', () => {
    const small = new CelEngine({ maxNodes: 10 });
    assert.equal(
      code(() => small.compile('1 + 2 + 3 + 4 + 5 + 6', invalid)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('reports a spent budget even when the expression absorbs the error (x || true)', () => {
    const small = new CelEngine({ maxCost: 500 });
    assert.equal(
      code(() => run(`${nestedMaps(3)}.size() > 0 || true`, {}, small)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('refuses input strings and lists beyond the value size', () => {
    const small = new CelEngine({ maxValueSize: 100 });
    assert.equal(
      code(() => small.input({ x: 'y'.repeat(101) })),
      'ERR_CEL_COST_EXCEEDED',
    );
    assert.equal(
      code(() => small.input({ x: groups(101) })),
      'ERR_CEL_COST_EXCEEDED',
    );
  });

  it('keeps normal expressions working and their results plain', () => {
    assert.deepEqual(
      run("{'a': [1, 2u, 'x'], 'b': x.size() > 1 && x[0].startsWith('group')}", { x: groups(3) }),
      { value: { a: [1, 2, 'x'], b: true } },
    );
    assert.deepEqual(run('[1, 2] + [3] + [4, 5]'), { value: [1, 2, 3, 4, 5] });
    // a list appended to twice keeps both results apart
    assert.deepEqual(run('[[1, 2] + [3]].map(l, [l + [4], l + [5]])'), {
      value: [
        [
          [1, 2, 3, 4],
          [1, 2, 3, 5],
        ],
      ],
    });
    assert.equal('error' in run('nosuchvar == 1'), true);
  });

  it('caches compiled programs per expression text', () => {
    const e = new CelEngine();
    assert.equal(e.compile('1 + 1', invalid), e.compile('1 + 1', invalid));
  });

  it('a syntax error is what the caller makes of it', () => {
    assert.equal(
      code(() => engine.compile('1 +', invalid)),
      'SYNTAX',
    );
  });

  it('validates budget settings', () => {
    assert.deepEqual(celBudget(), { ...DEFAULT_CEL_BUDGET });
    assert.equal(celBudget({ maxCost: 5 }).maxCost, 5);
    for (const bad of [{ maxCost: 0 }, { maxCost: 1.5 }, { maxNodes: 1e9 }, { nope: 1 }])
      assert.equal(
        code(() => celBudget(bad as never)),
        'ERR_INVALID_ARGUMENT',
      );
  });
});
