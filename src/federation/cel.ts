import { type CelInput, celEnv, isCelError, isCelList, isCelMap, parse, plan } from '@bufbuild/cel';
import { FederationConditionFailedError, FederationMappingError } from '../errors/server.js';

const MAX_EXPR_CHARS = 4096;
const MAX_DEPTH = 16;
const env = celEnv();

type Program = (ctx: { assertion: CelInput }) => unknown;

function compile(expr: string, what: string): Program {
  if (typeof expr !== 'string' || expr.length === 0 || expr.length > MAX_EXPR_CHARS)
    throw new FederationMappingError(
      `${what} must be a CEL expression of at most ${MAX_EXPR_CHARS} characters`,
    );
  try {
    return plan(env, parse(expr)) as unknown as Program;
  } catch (e) {
    throw new FederationMappingError(`${what} does not compile: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** JSON claims to CEL input: objects become maps (CEL reads JSON objects as `map(string, dyn)`). */
export function toCelInput(v: unknown, depth = 0): CelInput {
  if (depth > MAX_DEPTH) throw new FederationMappingError('claims nest too deeply');
  if (Array.isArray(v)) return v.map((x) => toCelInput(x, depth + 1)) as CelInput;
  if (v !== null && typeof v === 'object')
    return new Map(Object.entries(v).map(([k, x]) => [k, toCelInput(x, depth + 1)])) as unknown as CelInput;
  return v as CelInput;
}

function fromCel(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (isCelList(v as never)) return [...(v as unknown as Iterable<unknown>)].map(fromCel);
  if (isCelMap(v as never)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v as unknown as Iterable<[unknown, unknown]>) out[String(k)] = fromCel(x);
    return out;
  }
  return v;
}

/**
 * A compiled attribute mapping (output name -> CEL over `assertion`) plus an optional boolean condition.
 * Compiled once when the configuration is loaded, so a typo fails at start-up, not on the first request.
 */
export class CelAttributeMapper {
  private readonly mapping: [string, Program][];
  private readonly condition: Program | undefined;

  constructor(mapping: Record<string, string>, condition?: string) {
    if (typeof mapping !== 'object' || mapping === null || typeof mapping.subject !== 'string')
      throw new FederationMappingError('attribute mapping needs a subject expression');
    this.mapping = Object.entries(mapping).map(([k, e]) => [k, compile(e, `mapping ${k}`)]);
    this.condition = condition === undefined ? undefined : compile(condition, 'attribute condition');
  }

  /** Evaluates the condition (must be exactly true) then the mapping; `subject` must map to a non-empty string. */
  map(claims: Record<string, unknown>): { subject: string; attributes: Record<string, unknown> } {
    const ctx = { assertion: toCelInput(claims) };
    if (this.condition) {
      const r = this.condition(ctx);
      if (isCelError(r as never))
        throw new FederationMappingError(
          'attribute condition raised an error (a claim it reads is missing?)',
        );
      if (typeof r !== 'boolean')
        throw new FederationMappingError('attribute condition must evaluate to a bool');
      if (!r)
        throw new FederationConditionFailedError(
          'the external identity does not satisfy the attribute condition',
        );
    }
    const attributes: Record<string, unknown> = {};
    let subject: string | undefined;
    for (const [name, prog] of this.mapping) {
      const r = prog(ctx);
      if (isCelError(r as never)) throw new FederationMappingError(`mapping ${name} raised an error`);
      const v = fromCel(r);
      if (name === 'subject') {
        if (typeof v !== 'string' || v.length === 0 || v.length > 255)
          throw new FederationMappingError('mapping subject must yield a non-empty string');
        subject = v;
      } else attributes[name] = v;
    }
    return { subject: subject!, attributes };
  }
}
