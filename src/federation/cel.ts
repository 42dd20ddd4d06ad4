import { type CelInput, celEnv, isCelError, isCelList, isCelMap, parse, plan } from '@bufbuild/cel';
import { FederationConditionFailedError, FederationMappingError } from '../errors/server.js';

const MAX_EXPR_CHARS = 4096;
const MAX_DEPTH = 16;
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

function compileList(src: PolicyListSource, what: string): ListProgram {
  if (Array.isArray(src)) {
    const fixed = stringList(src, what);
    return () => fixed;
  }
  const prog = compile(src, what);
  return (ctx) => {
    const r = prog(ctx);
    if (isCelError(r as never)) throw new FederationMappingError(`${what} raised an error`);
    return stringList(fromCel(r), what);
  };
}

/**
 * A compiled attribute mapping (output name -> CEL over `assertion`) plus an optional boolean condition.
 * Compiled once when the configuration is loaded, so a typo fails at start-up, not on the first request.
 */
export class CelAttributeMapper {
  private readonly mapping: [string, Program][];
  private readonly condition: Program | undefined;
  private readonly policy: [keyof GrantPolicy, ListProgram][] = [];

  constructor(mapping: Record<string, string>, condition?: string, policy: PolicyConfig = {}) {
    if (typeof mapping !== 'object' || mapping === null || typeof mapping.subject !== 'string')
      throw new FederationMappingError('attribute mapping needs a subject expression');
    this.mapping = Object.entries(mapping).map(([k, e]) => [k, compile(e, `mapping ${k}`)]);
    this.condition = condition === undefined ? undefined : compile(condition, 'attribute condition');
    const lists: [keyof GrantPolicy, keyof PolicyConfig][] = [
      ['scopes', 'allowed_scopes'],
      ['defaultScopes', 'default_scopes'],
      ['audiences', 'allowed_audiences'],
    ];
    for (const [out, key] of lists) {
      const src = policy[key];
      if (src !== undefined) this.policy.push([out, compileList(src, key)]);
    }
  }

  /** Evaluates the condition (must be exactly true) then the mapping; `subject` must map to a non-empty string. */
  map(claims: Record<string, unknown>): {
    subject: string;
    attributes: Record<string, unknown>;
    policy: GrantPolicy;
  } {
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
    if (JSON.stringify(attributes).length > MAX_MAPPED_CLAIMS_CHARS)
      throw new FederationMappingError(
        `the mapped claims exceed ${MAX_MAPPED_CLAIMS_CHARS} characters of JSON (the issued token must stay small enough to revoke)`,
      );
    const policy: GrantPolicy = {};
    for (const [out, prog] of this.policy) policy[out] = prog(ctx);
    return { subject: subject!, attributes, policy };
  }
}
