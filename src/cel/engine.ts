import {
  type CelFunc,
  type CelInput,
  type CelList,
  type CelResult,
  CelScalar,
  type CelType,
  type CelValue,
  celEnv,
  celType,
  isCelError,
  isCelList,
  isCelMap,
  parse,
  plan,
} from '@bufbuild/cel';
import { CelCostExceededError } from '../errors/cel.js';
import { type CelBudget, CelMeter, celBudget } from './budget.js';
import { regexWeight } from './regex-weight.js';
import { chargeDeep, concatLists, fromCel, scalarSize, toCelInput } from './values.js';

type Expr = ReturnType<typeof parse>['expr'];

/** Longest expression compiled at all (callers cap lower: 2048 for downscoping, 4096 for federation). */
export const MAX_CEL_EXPRESSION_CHARS = 8192;
/**
 * Bracket nesting accepted before parsing: the generated parser backtracks on unclosed brackets, and its
 * time grows much faster than linearly with their nesting (320 unclosed `{` take seconds).
 */
export const MAX_CEL_BRACKET_DEPTH = 32;
const CACHE_SIZE = 256;
/** Cost units per unit of estimated RE2 program size, for compiling a `matches` pattern on every call. */
const REGEX_COMPILE_UNITS = 40;

const FUNC_BRAND = Symbol.for('@bufbuild/cel/func');
/** Not a CEL identifier (`@`), so no expression can call it: inserted around every comprehension range. */
const RANGE_FN = '@offtoken_range';

/**
 * The meter of the evaluation running now. CEL evaluation is synchronous and no function of the
 * environment evaluates CEL, so one slot is enough; it is restored after every evaluation.
 */
let current: CelMeter | undefined;

const isSubtype = (v: CelValue | undefined, t: CelType): boolean => {
  if (v === undefined) return false;
  if (t === CelScalar.DYN) return true;
  const vt = celType(v);
  return vt.kind === t.kind && vt.name === t.name;
};

/** Refuses a produced string, bytes or list beyond the value size (a doubling chain grows exponentially). */
function checkResult(m: CelMeter, r: CelResult | undefined): void {
  if (r === undefined || isCelError(r)) return;
  const size = typeof r === 'string' || r instanceof Uint8Array ? r.length : isCelList(r) ? r.size : 0;
  if (size > m.budget.maxValueSize) m.fail(`a value would exceed ${m.budget.maxValueSize} elements`);
}

type FuncShape = Pick<CelFunc, 'id' | 'name' | 'target' | 'arguments' | 'result' | 'call'>;
const asFunc = (f: FuncShape): CelFunc => ({ [FUNC_BRAND]: {}, ...f }) as unknown as CelFunc;

/** Types whose values have a size (or, for dyn, may have one). */
const SIZED = new Set(['string', 'bytes', 'list', 'map', 'dyn']);
const sized = (t: CelType | undefined) =>
  t !== undefined && (t.kind === 'list' || t.kind === 'map' || (t.kind === 'scalar' && SIZED.has(t.name)));

/**
 * A standard function wrapped to charge the running meter 1 plus its string/bytes operands' lengths (a call
 * on numbers, booleans, timestamps or durations only is constant work, already paid for by the node count
 * of a comprehension body, and is left as is). Equality and `in` are charged the size of what they compare
 * and `contains`/`matches` their quadratic bound before they run; list `+` is replaced by an append that
 * charges the elements it copies.
 */
function metered(f: CelFunc): CelFunc {
  const base = { id: f.id, name: f.name, target: f.target, arguments: f.arguments, result: f.result };
  if (f.name === '_+_' && f.arguments.every((a) => a.kind === 'list'))
    return asFunc({
      ...base,
      call(_id, target, args) {
        if (target !== undefined || args.length !== 2 || !isCelList(args[0]!) || !isCelList(args[1]!))
          return undefined;
        return concatLists(args[0] as CelList, args[1] as CelList, current);
      },
    });
  const grows = sized(f.result);
  if (!grows && !sized(f.target) && !f.arguments.some(sized)) return f;
  if (f.name === '_==_' || f.name === '_!=_' || f.name === '@in') {
    // Equality stops within the unfolded size of its left operand (sizes are compared first), so that is
    // what it is charged; `x in list` compares x with each element, `x in map` looks x up.
    const inList = f.name === '@in' && f.arguments[1]!.kind === 'list';
    const inMap = f.name === '@in' && !inList;
    const needleType = f.arguments[0]!;
    return asFunc({
      ...base,
      call(id, target, args) {
        const m = current;
        if (!m) return f.call(id, target, args);
        if (target !== undefined || args.length !== 2) return undefined;
        if (inList && !isCelList(args[1]!)) return undefined;
        if (inMap && !(isCelMap(args[1]!) && isSubtype(args[0], needleType))) return undefined;
        const needle = chargeDeep(args[0], m);
        if (inList) m.charge((args[1] as CelList).size * needle);
        return f.call(id, target, args);
      },
    });
  }
  if (f.name === 'contains' || f.name === 'matches') {
    const isMatches = f.name === 'matches';
    return asFunc({
      ...base,
      call(id, target, args) {
        const m = current;
        if (!m) return f.call(id, target, args);
        const pattern = args[0];
        if (typeof target !== 'string' || typeof pattern !== 'string' || args.length !== 1) return undefined;
        if (isMatches) {
          const w = patternWeight(pattern);
          m.charge(1 + w * REGEX_COMPILE_UNITS + (target.length + 1) * w);
        } else m.charge(1 + target.length + pattern.length + target.length * pattern.length);
        return f.call(id, target, args);
      },
    });
  }
  return asFunc({
    ...base,
    call(id, target, args) {
      const r = f.call(id, target, args);
      const m = current;
      if (r === undefined || !m) return r;
      let units = 1;
      if (target !== undefined) units += scalarSize(target);
      for (let i = 0; i < args.length; i++) units += scalarSize(args[i]);
      m.charge(units);
      if (grows) checkResult(m, r);
      return r;
    },
  });
}

const weights = new Map<string, number>();
/** regexWeight, remembered per pattern (bounded) since a condition applies one pattern to many values. */
function patternWeight(p: string): number {
  let w = weights.get(p);
  if (w === undefined) {
    w = regexWeight(p);
    if (weights.size >= 256) weights.clear();
    weights.set(p, w);
  }
  return w;
}

/** Charges a comprehension, when it starts, its range size times the size of its loop body. */
const rangeFn = asFunc({
  id: `${RANGE_FN}(dyn,int)`,
  name: RANGE_FN,
  target: undefined,
  arguments: [CelScalar.DYN, CelScalar.INT],
  result: CelScalar.DYN,
  call(_id, target, args) {
    const [range, weight] = args;
    if (target !== undefined || typeof weight !== 'bigint') return undefined;
    const size = isCelList(range!) || isCelMap(range!) ? range.size : 0;
    current?.charge(1 + size * Number(weight));
    return range;
  },
});

const ENV = celEnv({ funcs: [...[...celEnv().funcs].map(metered), rangeFn] });

/** Bracket nesting outside string literals (quotes, triple quotes and backslash escapes skipped). */
function bracketDepth(s: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      const q = s.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += q.length;
      while (i < s.length && !s.startsWith(q, i)) i += s[i] === '\\' ? 2 : 1;
      i += q.length - 1;
    } else if (c === '(' || c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ')' || c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return max;
}

const call = (fn: string, args: Expr[]): Expr =>
  ({
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: fn, args } },
  }) as unknown as Expr;
const int = (n: number): Expr =>
  ({
    $typeName: 'cel.expr.Expr',
    id: 0n,
    exprKind: {
      case: 'constExpr',
      value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: BigInt(n) } },
    },
  }) as unknown as Expr;

/**
 * Counts nodes, checks comprehension nesting (a comprehension inside another's loop condition or step runs
 * once per outer element), and wraps each comprehension's range in the charging function. Returns the nodes
 * of the subtree as written.
 */
function instrument(e: Expr | undefined, depth: number, b: CelBudget, seen: { nodes: number }): number {
  if (!e) return 0;
  if (++seen.nodes > b.maxNodes) throw new CelCostExceededError(`CEL expression exceeds ${b.maxNodes} nodes`);
  const k = e.exprKind;
  let n = 1;
  switch (k.case) {
    case 'selectExpr':
      n += instrument(k.value.operand, depth, b, seen);
      break;
    case 'callExpr':
      n += instrument(k.value.target, depth, b, seen);
      for (const a of k.value.args) n += instrument(a, depth, b, seen);
      break;
    case 'listExpr':
      for (const a of k.value.elements) n += instrument(a, depth, b, seen);
      break;
    case 'structExpr':
      for (const en of k.value.entries) {
        if (en.keyKind.case === 'mapKey') n += instrument(en.keyKind.value, depth, b, seen);
        n += instrument(en.value, depth, b, seen);
      }
      break;
    case 'comprehensionExpr': {
      const c = k.value;
      if (depth + 1 > b.maxComprehensionDepth)
        throw new CelCostExceededError(
          `CEL comprehensions nest deeper than ${b.maxComprehensionDepth} (all/exists/map/filter inside another's body)`,
        );
      n += instrument(c.iterRange, depth, b, seen) + instrument(c.accuInit, depth, b, seen);
      const body =
        instrument(c.loopCondition, depth + 1, b, seen) + instrument(c.loopStep, depth + 1, b, seen);
      n += body + instrument(c.result, depth, b, seen);
      if (c.iterRange) c.iterRange = call(RANGE_FN, [c.iterRange, int(1 + body)]);
      break;
    }
    default:
      break;
  }
  return n;
}

/** A compiled expression; every evaluation runs under the engine's budget. */
export class CelProgram {
  constructor(
    readonly expr: string,
    private readonly budget: CelBudget,
    private readonly run: (ctx: Record<string, CelInput>) => CelResult,
  ) {}

  /**
   * Evaluates; a CEL error (a missing field, a type mismatch) is returned as `{ error }`, a spent budget
   * throws ERR_CEL_COST_EXCEEDED even when the expression would have absorbed the error (`x || true`).
   */
  evaluate(bindings: Record<string, CelInput>): { value: CelValue } | { error: string } {
    const m = new CelMeter(this.budget);
    const r = this.#run(bindings, m);
    return isCelError(r) ? { error: r.message } : { value: r };
  }

  /** As `evaluate`, with the value converted to plain JSON-like data (ints to numbers, maps to objects). */
  evaluateJson(bindings: Record<string, CelInput>): { value: unknown } | { error: string } {
    const m = new CelMeter(this.budget);
    const r = this.#run(bindings, m);
    if (isCelError(r)) return { error: r.message };
    const outer = current;
    current = m;
    try {
      return { value: fromCel(r, m) };
    } finally {
      current = outer;
    }
  }

  #run(bindings: Record<string, CelInput>, m: CelMeter): CelResult {
    const outer = current;
    current = m;
    let r: CelResult;
    try {
      r = this.run(bindings);
    } finally {
      current = outer;
    }
    if (m.exceeded) m.fail(m.exceeded);
    return r;
  }
}

/**
 * The one CEL set-up of offtoken (downscoping conditions, federation mappings and conditions): the standard
 * library of `@bufbuild/cel` with every function metered, a static check when compiling, and compiled
 * programs cached per expression text (bounded: the cache is emptied when full).
 */
export class CelEngine {
  readonly budget: CelBudget;
  readonly #cache = new Map<string, CelProgram>();

  constructor(budget: Partial<CelBudget> = {}) {
    this.budget = celBudget(budget);
  }

  /**
   * JSON-shaped bindings to CEL input, refused beyond the budget's value size (ERR_CEL_COST_EXCEEDED) or 16
   * levels deep (what `tooDeep` makes, ERR_CEL_COST_EXCEEDED by default).
   */
  input(v: unknown, tooDeep?: (why: string) => Error): CelInput {
    return toCelInput(v, this.budget, tooDeep);
  }

  /**
   * Compiles `expr` (or returns the cached program). A budget violation seen statically throws
   * ERR_CEL_COST_EXCEEDED; a syntax error throws what `invalid` makes of the parser's first message line.
   */
  compile(expr: string, invalid: (why: string) => Error): CelProgram {
    const hit = this.#cache.get(expr);
    if (hit) return hit;
    if (typeof expr !== 'string' || expr.length > MAX_CEL_EXPRESSION_CHARS)
      throw invalid(`not a string of at most ${MAX_CEL_EXPRESSION_CHARS} characters`);
    if (bracketDepth(expr) > MAX_CEL_BRACKET_DEPTH)
      throw new CelCostExceededError(`CEL expression nests brackets deeper than ${MAX_CEL_BRACKET_DEPTH}`);
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(expr);
    } catch (e) {
      throw invalid(String((e as Error).message).split('\n')[0]!);
    }
    instrument(parsed.expr, 0, this.budget, { nodes: 0 });
    let run: (ctx: Record<string, CelInput>) => CelResult;
    try {
      run = plan(ENV, parsed) as unknown as typeof run;
    } catch (e) {
      throw invalid(String((e as Error).message).split('\n')[0]!);
    }
    const program = new CelProgram(expr, this.budget, run);
    if (this.#cache.size >= CACHE_SIZE) this.#cache.clear();
    this.#cache.set(expr, program);
    return program;
  }
}

const engines = new Map<string, CelEngine>();
/**
 * The engine for a budget (the default one when none is given), shared by every verifier and mapper with
 * that budget so they share its program cache; at most 16 distinct budgets are kept.
 */
export function celEngineFor(budget: Partial<CelBudget> = {}): CelEngine {
  const resolved = celBudget(budget);
  const key = JSON.stringify(resolved);
  let e = engines.get(key);
  if (!e) {
    if (engines.size >= 16) engines.clear();
    e = new CelEngine(resolved);
    engines.set(key, e);
  }
  return e;
}

/** The engine with the default budget. */
export function defaultCelEngine(): CelEngine {
  return celEngineFor();
}
