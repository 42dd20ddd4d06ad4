export { type CelBudget, celBudget, DEFAULT_CEL_BUDGET } from './budget.js';
export {
  CelEngine,
  CelProgram,
  celEngineFor,
  defaultCelEngine,
  MAX_CEL_BRACKET_DEPTH,
  MAX_CEL_EXPRESSION_CHARS,
} from './engine.js';
