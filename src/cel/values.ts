import { type CelInput, type CelList, type CelValue, isCelList, isCelMap, isCelUint } from '@bufbuild/cel';
import { CelCostExceededError } from '../errors/cel.js';
import type { CelBudget, CelMeter } from './budget.js';

const LIST_BRAND = Symbol.for('@bufbuild/cel/list');
const MAX_INPUT_DEPTH = 16;
const tooLarge = (why: string) => new CelCostExceededError(`CEL input refused: ${why}`);

/**
 * A list that appends in place when it is the newest view of its buffer (a Go-slice append): the library's
 * own concatenation nests one wrapper per `+`, so a `map()` over n elements builds an n-deep chain that
 * every later read walks (quadratic reads, and a deep enough chain overflows the stack).
 */
class AppendList {
  readonly [LIST_BRAND] = {};
  constructor(
    private readonly buf: CelValue[],
    readonly size: number,
  ) {}
  get(index: number): CelValue | undefined {
    return Number.isInteger(index) && index >= 0 && index < this.size ? this.buf[index] : undefined;
  }
  *values(): IterableIterator<CelValue> {
    for (let i = 0; i < this.size; i++) yield this.buf[i]!;
  }
  [Symbol.iterator](): IterableIterator<CelValue> {
    return this.values();
  }
  /** `this + other` without copying `this` when nothing was appended after it; charges what it copies. */
  concat(other: CelList, meter: CelMeter | undefined): CelList {
    const size = this.size + other.size;
    if (meter && size > meter.budget.maxValueSize)
      meter.fail(`a list would exceed ${meter.budget.maxValueSize} elements`);
    let buf = this.buf;
    if (this.buf.length !== this.size) {
      meter?.charge(this.size);
      buf = this.buf.slice(0, this.size);
    }
    meter?.charge(other.size);
    for (const v of other) buf.push(v);
    return new AppendList(buf, size) as unknown as CelList;
  }
}

/** List concatenation for the `_+_` overload: always an AppendList, charged by the elements copied. */
export function concatLists(l: CelList, r: CelList, meter: CelMeter | undefined): CelList {
  if (l instanceof AppendList) return l.concat(r, meter);
  const size = l.size + r.size;
  if (meter && size > meter.budget.maxValueSize)
    meter.fail(`a list would exceed ${meter.budget.maxValueSize} elements`);
  meter?.charge(size);
  const buf: CelValue[] = [];
  for (const v of l) buf.push(v);
  for (const v of r) buf.push(v);
  return new AppendList(buf, size) as unknown as CelList;
}

/** Size in cost units of a scalar operand: its length for strings and bytes, 0 otherwise. */
export function scalarSize(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  return 0;
}

/**
 * Charges, and returns, the nodes plus string/bytes lengths of a value, walked iteratively: a value built as
 * a DAG (`[x, x]` repeated) is exponentially larger unfolded than in memory, and equality walks it unfolded.
 * The walk stops as soon as it would overspend.
 */
export function chargeDeep(v: unknown, meter: CelMeter): number {
  if (!isCelList(v as CelValue) && !isCelMap(v as CelValue)) {
    const units = 1 + scalarSize(v);
    meter.charge(units);
    return units;
  }
  const stack: unknown[] = [v];
  let units = 0;
  const limit = meter.remaining;
  while (stack.length > 0) {
    const x = stack.pop();
    units += 1 + scalarSize(x);
    if (units > limit) meter.charge(units);
    if (isCelList(x as CelValue)) for (const e of x as CelList) stack.push(e);
    else if (isCelMap(x as CelValue))
      for (const [k, e] of x as unknown as Iterable<[unknown, unknown]>) stack.push(k, e);
  }
  meter.charge(units);
  return units;
}

/**
 * JSON-shaped input (claims) to CEL input: objects become maps (CEL reads JSON objects as `map(string,
 * dyn)`). Refused beyond the budget's value size (strings, lists, maps) or 16 levels deep: a claim an
 * expression iterates is paid for per element, but its size is capped before any evaluation.
 */
export function toCelInput(
  v: unknown,
  budget: CelBudget,
  tooDeep: (why: string) => Error = tooLarge,
  depth = 0,
): CelInput {
  if (depth > MAX_INPUT_DEPTH) throw tooDeep(`the input nests deeper than ${MAX_INPUT_DEPTH} levels`);
  if (typeof v === 'string') {
    if (v.length > budget.maxValueSize)
      throw tooLarge(`an input string exceeds ${budget.maxValueSize} characters`);
    return v;
  }
  if (Array.isArray(v)) {
    if (v.length > budget.maxValueSize)
      throw tooLarge(`an input list exceeds ${budget.maxValueSize} elements`);
    return v.map((x) => toCelInput(x, budget, tooDeep, depth + 1)) as CelInput;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length > budget.maxValueSize)
      throw tooLarge(`an input map exceeds ${budget.maxValueSize} entries`);
    return new Map(
      entries.map(([k, x]) => [k, toCelInput(x, budget, tooDeep, depth + 1)]),
    ) as unknown as CelInput;
  }
  return v as CelInput;
}

/**
 * A CEL result to plain JSON-like values (int to number, maps to objects), charging one unit per node: the
 * result of `[x, x]` chains is a DAG whose unfolded form would not fit in memory.
 */
export function fromCel(v: unknown, meter: CelMeter, depth = 0): unknown {
  meter.charge(1 + scalarSize(v));
  if (depth > MAX_INPUT_DEPTH) meter.fail(`a result nests deeper than ${MAX_INPUT_DEPTH} levels`);
  if (typeof v === 'bigint') return Number(v);
  if (isCelList(v as CelValue)) return [...(v as CelList)].map((x) => fromCel(x, meter, depth + 1));
  if (isCelMap(v as CelValue)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v as unknown as Iterable<[unknown, unknown]>)
      out[String(k)] = fromCel(x, meter, depth + 1);
    return out;
  }
  if (isCelUint(v as CelValue)) return Number((v as { value: bigint }).value);
  return v;
}
