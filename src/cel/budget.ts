import { InvalidArgumentError } from '../errors/base.js';
import { CelCostExceededError } from '../errors/cel.js';

/**
 * The cost budget every CEL evaluation in offtoken runs under (docs/config.md, "CEL budget"). The static
 * part is checked when an expression is compiled, the dynamic part while it runs; either refuses with
 * `ERR_CEL_COST_EXCEEDED`.
 */
export interface CelBudget {
  /**
   * Cost units one evaluation may spend. A comprehension charges, when it starts, its range size times the
   * size of its loop body (so the product of nested ranges is paid before it is run); every function call
   * charges 1 plus the length of its string/bytes operands; equality and `in` the size of the values they
   * compare; `matches` its pattern's compiled size times the text length; a list concatenation the
   * elements it copies.
   */
  maxCost: number;
  /** Comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) nested in another's loop body. */
  maxComprehensionDepth: number;
  /** Nodes of the parsed expression (macros expanded). */
  maxNodes: number;
  /** Characters of a string, bytes of a bytes value, elements of a list or map: in the input and produced. */
  maxValueSize: number;
}

export const DEFAULT_CEL_BUDGET: Readonly<CelBudget> = Object.freeze({
  maxCost: 100_000,
  maxComprehensionDepth: 3,
  maxNodes: 1024,
  maxValueSize: 8192,
});

/** Upper bounds on the settings themselves: a configuration cannot switch the budget off. */
const CEILING: Readonly<CelBudget> = Object.freeze({
  maxCost: 10_000_000,
  maxComprehensionDepth: 8,
  maxNodes: 16_384,
  maxValueSize: 1 << 20,
});

/** Defaults completed with `partial`; each setting a positive integer at most its ceiling. */
export function celBudget(partial: Partial<CelBudget> = {}): CelBudget {
  if (typeof partial !== 'object' || partial === null)
    throw new InvalidArgumentError('the CEL budget must be an object');
  const out = { ...DEFAULT_CEL_BUDGET };
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in DEFAULT_CEL_BUDGET)) throw new InvalidArgumentError(`unknown CEL budget setting ${k}`);
    if (v === undefined) continue;
    const max = CEILING[k as keyof CelBudget];
    if (!Number.isSafeInteger(v) || (v as number) < 1 || (v as number) > max)
      throw new InvalidArgumentError(`CEL budget ${k} must be an integer from 1 to ${max}`);
    out[k as keyof CelBudget] = v as number;
  }
  return out;
}

/** The running account of one evaluation; `exceeded` is sticky so an absorbed error is still reported. */
export class CelMeter {
  spent = 0;
  exceeded: string | undefined;
  constructor(readonly budget: CelBudget) {}

  /** Throws (unwinding the evaluation) once the budget is spent. */
  charge(units: number): void {
    this.spent += units;
    if (this.spent > this.budget.maxCost)
      this.fail(`it would spend more than ${this.budget.maxCost} cost units`);
  }

  /** The units left, for traversals that stop as soon as they would overspend. */
  get remaining(): number {
    return this.budget.maxCost - this.spent;
  }

  fail(why: string): never {
    this.exceeded ??= why;
    throw new CelCostExceededError(`CEL evaluation refused: ${why}`);
  }
}
