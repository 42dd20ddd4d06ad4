import { DownscopeInvalidError } from '../errors/dpop.js';

/** One grant or access-boundary rule: a resource-name prefix and the permissions allowed under it. */
export interface AccessRule {
  resource_prefix: string;
  permissions: string[];
  /** Boundary rules only: a CEL expression over `resource` (string), `permission` (string) and `now` (unix s, double). */
  condition?: string;
}

export const MAX_RULES = 32;

/**
 * Why a resource name (or prefix) is not canonical, or undefined when it is. Matching is a plain prefix
 * match, so `bucket/acme/public/../private/x` would pass a `bucket/acme/public/` boundary and reach
 * `private/` wherever the name is resolved as a path: dot segments, empty segments (`//`), percent-encoding
 * (`%2e%2e`, `%2F`), backslashes and control characters (NUL included) are refused, not normalised. One
 * leading and one trailing `/` are allowed.
 */
export function nonCanonicalResource(name: string): string | undefined {
  const n = name.length;
  let start = 0;
  // one pass; a virtual '/' at the end closes the last segment
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : 0x2f;
    if (c < 0x20 || c === 0x7f || c === 0x25 /* % */ || c === 0x5c /* \\ */)
      return 'percent-encoding, a backslash or a control character';
    if (c !== 0x2f) continue;
    const len = i - start;
    // a leading '/' (i === 0) and a trailing one (the virtual close at i === n) are allowed
    if (len === 0 && i !== 0 && i !== n) return 'an empty segment';
    if (
      (len === 1 || len === 2) &&
      name.charCodeAt(start) === 0x2e &&
      (len === 1 || name.charCodeAt(start + 1) === 0x2e)
    )
      return 'a dot segment';
    start = i + 1;
  }
  return undefined;
}

const MAX_PERMS = 64;

/** Structural validation of hostile rule lists (limits on count and length). */
export function parseRules(v: unknown, allowCondition: boolean): AccessRule[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_RULES)
    throw new DownscopeInvalidError('rules must be a non-empty list of at most 32');
  return v.map((r) => {
    const o = r as Record<string, unknown>;
    if (
      typeof r !== 'object' ||
      r === null ||
      Array.isArray(r) ||
      typeof o.resource_prefix !== 'string' ||
      o.resource_prefix.length > 1024 ||
      !Array.isArray(o.permissions) ||
      o.permissions.length === 0 ||
      o.permissions.length > MAX_PERMS ||
      !o.permissions.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 128) ||
      (o.condition !== undefined &&
        (!allowCondition || typeof o.condition !== 'string' || o.condition.length > 2048))
    ) {
      throw new DownscopeInvalidError('a rule is malformed');
    }
    const why = nonCanonicalResource(o.resource_prefix);
    if (why) throw new DownscopeInvalidError(`a rule's resource_prefix holds ${why}`);
    const rule: AccessRule = { resource_prefix: o.resource_prefix, permissions: o.permissions as string[] };
    if (typeof o.condition === 'string') rule.condition = o.condition;
    return rule;
  });
}

/** True when `rule` grants nothing `grant` does not: its prefix lies within a granted prefix carrying all its permissions. */
export function narrows(rule: AccessRule, grant: readonly AccessRule[]): boolean {
  return grant.some(
    (g) =>
      rule.resource_prefix.startsWith(g.resource_prefix) &&
      rule.permissions.every((p) => g.permissions.includes(p)),
  );
}
