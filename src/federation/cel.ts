import type { CelInput } from '@bufbuild/cel';
import type { CelBudget } from '../cel/budget.js';
import { type CelEngine, type CelProgram, celEngineFor, defaultCelEngine } from '../cel/engine.js';
import { FederationConditionFailedError, FederationMappingError } from '../errors/server.js';

const MAX_EXPR_CHARS = 4096;
/**
 * Mapped claims are copied into the issued access token: bounded so that the token stays small enough to be
 * presented back at /revoke and /introspect (issue 17 item 5; the authority checks the final size too).
 */
export const MAX_MAPPED_CLAIMS_CHARS = 16 * 1024;
const MAX_POLICY_LIST = 256;
const MAX_POLICY_ENTRY = 512;

/**
 * A provider's token policy lists (docs/config.md): each a static JSON array of strings, or a CEL expression
 * over `assertion` that yields a list of strings (computed per external token).
 */
export type PolicyListSource = string | string[];
export interface PolicyConfig {
  allowed_scopes?: PolicyListSource;
  default_scopes?: PolicyListSource;
  allowed_audiences?: PolicyListSource;
}
/** The evaluated lists; a list the provider does not configure stays undefined (deny-by-default). */
export interface GrantPolicy {
  scopes?: string[];
  defaultScopes?: string[];
  audiences?: string[];
}
type ListProgram = (ctx: { assertion: CelInput }) => string[];

function compile(engine: CelEngine, expr: string, what: string): CelProgram {
  if (typeof expr !== 'string' || expr.length === 0 || expr.length > MAX_EXPR_CHARS)
    throw new FederationMappingError(
      `${what} must be a CEL expression of at most ${MAX_EXPR_CHARS} characters`,
    );
  return engine.compile(expr, (why) => new FederationMappingError(`${what} does not compile: ${why}`));
}

const tooDeep = () => new FederationMappingError('claims nest too deeply');

/**
 * An identity must not begin or end with a Unicode space or an invisible format character ("\u00A0admin",
 * "admin\uFEFF", "admin\u2028" would each pass for "admin"), nor contain a control character. Refused, not
 * trimmed: trimming is what merged them.
 */
const DECEPTIVE_IDENTITY = /^[\p{White_Space}\p{Cf}]|[\p{White_Space}\p{Cf}]$|\p{Cc}/u;

/**
 * JSON claims to CEL input: objects become maps (CEL reads JSON objects as `map(string, dyn)`); strings,
 * lists and maps beyond the budget's value size are ERR_CEL_COST_EXCEEDED.
 */
export function toCelInput(v: unknown, engine: CelEngine = defaultCelEngine()): CelInput {
  return engine.input(v, tooDeep);
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_POLICY_LIST)
    throw new FederationMappingError(`${what} must yield a list of at most ${MAX_POLICY_LIST} strings`);
  for (const x of v)
    if (typeof x !== 'string' || x.length === 0 || x.length > MAX_POLICY_ENTRY)
      throw new FederationMappingError(
        `${what} must yield non-empty strings of at most ${MAX_POLICY_ENTRY} characters`,
      );
  return v as string[];
}

function compileList(engine: CelEngine, src: PolicyListSource, what: string): ListProgram {
  if (Array.isArray(src)) {
    const fixed = stringList(src, what);
    return () => fixed;
  }
  const prog = compile(engine, src, what);
  return (ctx) => {
    const r = prog.evaluateJson(ctx);
    if ('error' in r) throw new FederationMappingError(`${what} raised an error`);
    return stringList(r.value, what);
  };
}

/**
 * A compiled attribute mapping (output name -> CEL over `assertion`) plus an optional boolean condition.
 * Compiled once when the configuration is loaded, so a typo (or an expression over the CEL budget) fails at
 * start-up, not on the first request. Each evaluation runs under the budget (ERR_CEL_COST_EXCEEDED).
 */
export class CelAttributeMapper {
  private readonly mapping: [string, CelProgram][];
  private readonly condition: CelProgram | undefined;
  private readonly policy: [keyof GrantPolicy, ListProgram][] = [];
  private readonly engine: CelEngine;

  constructor(
    mapping: Record<string, string>,
    condition?: string,
    policy: PolicyConfig = {},
    budget?: Partial<CelBudget>,
  ) {
    this.engine = celEngineFor(budget);
    if (typeof mapping !== 'object' || mapping === null || typeof mapping.subject !== 'string')
      throw new FederationMappingError('attribute mapping needs a subject expression');
    this.mapping = Object.entries(mapping).map(([k, e]) => [k, compile(this.engine, e, `mapping ${k}`)]);
    this.condition =
      condition === undefined ? undefined : compile(this.engine, condition, 'attribute condition');
    const lists: [keyof GrantPolicy, keyof PolicyConfig][] = [
      ['scopes', 'allowed_scopes'],
      ['defaultScopes', 'default_scopes'],
      ['audiences', 'allowed_audiences'],
    ];
    for (const [out, key] of lists) {
      const src = policy[key];
      if (src !== undefined) this.policy.push([out, compileList(this.engine, src, key)]);
    }
  }

  /** Evaluates the condition (must be exactly true) then the mapping; `subject` must map to a non-empty string. */
  map(claims: Record<string, unknown>): {
    subject: string;
    attributes: Record<string, unknown>;
    policy: GrantPolicy;
  } {
    const ctx = { assertion: toCelInput(claims, this.engine) };
    if (this.condition) {
      const r = this.condition.evaluate(ctx);
      if ('error' in r)
        throw new FederationMappingError(
          'attribute condition raised an error (a claim it reads is missing?)',
        );
      if (typeof r.value !== 'boolean')
        throw new FederationMappingError('attribute condition must evaluate to a bool');
      if (!r.value)
        throw new FederationConditionFailedError(
          'the external identity does not satisfy the attribute condition',
        );
    }
    const attributes: Record<string, unknown> = {};
    let subject: string | undefined;
    for (const [name, prog] of this.mapping) {
      const r = prog.evaluateJson(ctx);
      if ('error' in r) throw new FederationMappingError(`mapping ${name} raised an error`);
      const v = r.value;
      if (name === 'subject') {
        if (typeof v !== 'string' || v.length === 0 || v.length > 255)
          throw new FederationMappingError('mapping subject must yield a non-empty string');
        if (DECEPTIVE_IDENTITY.test(v))
          throw new FederationMappingError(
            'mapping subject begins or ends with a space or invisible character, or holds a control character',
          );
        subject = v;
      } else attributes[name] = v;
    }
    if (JSON.stringify(attributes).length > MAX_MAPPED_CLAIMS_CHARS)
      throw new FederationMappingError(
        `the mapped claims exceed ${MAX_MAPPED_CLAIMS_CHARS} characters of JSON (the issued token must stay small enough to revoke)`,
      );
    const policy: GrantPolicy = {};
    for (const [out, prog] of this.policy) policy[out] = prog(ctx);
    return { subject: subject!, attributes, policy };
  }
}
