import { OfftokenError } from './base.js';

/**
 * A CEL expression, or the input it reads, exceeds the evaluation budget (comprehension nesting, expression
 * size, cost units, value sizes): refused before or during evaluation, never run to completion.
 */
export class CelCostExceededError extends OfftokenError {
  override readonly code: string = 'ERR_CEL_COST_EXCEEDED';
}
