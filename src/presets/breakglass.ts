import { InvalidArgumentError } from '../errors/base.js';
import { OfflineTokenScopeError } from '../errors/offline.js';
import type { OfflineTokenGenerator } from '../offline/generator.js';
import type { AuditSink, ConsumeStore, OfflineTokenClaims } from '../offline/types.js';

/**
 * Break-glass access: sealed, scoped, single-use emergency tokens minted in advance and kept in a safe. Sealed
 * (JWE) so that the scope and ids are not readable from a leaked printout, single-use through the replay store,
 * and every use - accepted or refused - goes to the audit log.
 */
export const BREAKGLASS_AUDIENCE = 'offtoken:breakglass';
export const BREAKGLASS_ACTION = 'breakglass';
export const DEFAULT_BREAKGLASS_TTL = 90 * 24 * 3600;
export const MAX_BREAKGLASS_COUNT = 10_000;
const SCOPE_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export interface BreakGlassRecord {
  index: number;
  scope: string;
  jti: string;
  exp: number;
  token: string;
}

export interface BreakGlassIssueOptions {
  scope: string;
  count: number;
  ttlSeconds?: number;
  audit?: AuditSink;
}

export function issueBreakGlassTokens(
  gen: OfflineTokenGenerator,
  o: BreakGlassIssueOptions,
): BreakGlassRecord[] {
  if (gen.mode !== 'sealed')
    throw new InvalidArgumentError('break-glass tokens are sealed: use an A*GCM key');
  if (typeof o.scope !== 'string' || !SCOPE_RE.test(o.scope))
    throw new InvalidArgumentError('a scope is 1-128 characters of A-Z a-z 0-9 . _ : / -');
  if (!Number.isSafeInteger(o.count) || o.count < 1 || o.count > MAX_BREAKGLASS_COUNT)
    throw new InvalidArgumentError(`count must be 1 to ${MAX_BREAKGLASS_COUNT}`);
  const out: BreakGlassRecord[] = [];
  for (let index = 1; index <= o.count; index++) {
    const { token, claims: c } = gen.issue(undefined, {
      sub: `breakglass:${o.scope}`,
      act: { name: BREAKGLASS_ACTION, params: { scope: o.scope, index } },
      aud: BREAKGLASS_AUDIENCE,
      ttlSeconds: o.ttlSeconds ?? DEFAULT_BREAKGLASS_TTL,
    });
    o.audit?.record('breakglass.issue', { scope: o.scope, index, jti: c.jti, exp: c.exp });
    out.push({ index, scope: o.scope, jti: c.jti, exp: c.exp, token });
  }
  return out;
}

export interface BreakGlassUseOptions {
  consume: ConsumeStore;
  /** Every use is recorded; required so an emergency access can never go unrecorded. */
  audit: AuditSink;
  /** When set, the token's scope must equal it. */
  scope?: string;
}

export async function useBreakGlassToken(
  gen: OfflineTokenGenerator,
  token: string,
  o: BreakGlassUseOptions,
): Promise<{ scope: string; claims: OfflineTokenClaims }> {
  if (!o.audit) throw new InvalidArgumentError('break-glass use needs an audit log');
  if (gen.mode !== 'sealed')
    throw new InvalidArgumentError('break-glass tokens are sealed: use an A*GCM key');
  let claims: OfflineTokenClaims | undefined;
  try {
    const r = gen.verify(token, { audience: BREAKGLASS_AUDIENCE });
    claims = r.claims;
    const scope = claims.act?.params?.scope;
    if (claims.act?.name !== BREAKGLASS_ACTION || typeof scope !== 'string')
      throw new OfflineTokenScopeError('the token is not a break-glass token');
    if (o.scope !== undefined && scope !== o.scope)
      throw new OfflineTokenScopeError(`the token is for scope ${scope}, not ${o.scope}`);
    await gen.consume(r, o.consume);
    o.audit.record('breakglass.use', { scope, jti: claims.jti, index: claims.act?.params?.index });
    return { scope, claims };
  } catch (e) {
    o.audit.record('breakglass.reject', {
      code: (e as { code?: string }).code ?? 'ERR_INTERNAL',
      jti: claims?.jti,
      scope: claims?.act?.params?.scope,
    });
    throw e;
  }
}
