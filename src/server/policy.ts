import { OAuthInvalidScopeError, OAuthInvalidTargetError } from '../errors/server.js';
import type { ClientPolicy } from './db.js';

/** RFC 6749 3.3: one scope token (NQCHAR, no space). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_SCOPE_TOKEN = 256;
const MAX_AUDIENCE = 512;
const MAX_LIST = 256;

/** One party whose registered lists bound an issued token: a client, or a federation provider. */
export interface PolicySource {
  /** `client svc` or `federation provider https://idp` (for messages). */
  who: string;
  policy: ClientPolicy;
  /** How the operator sets the scope list (named in the error when it is missing). */
  scopeFix: string;
  /** How the operator sets the audience list. */
  audienceFix: string;
}

/** Validates a list of scope tokens for registration (CLI flags, federation config, CEL results). */
export function checkScopeList(v: unknown, what: string, fail: (m: string) => Error): string[] {
  if (!Array.isArray(v) || v.length > MAX_LIST)
    throw fail(`${what} must be a list of at most ${MAX_LIST} scopes`);
  for (const s of v)
    if (typeof s !== 'string' || s.length > MAX_SCOPE_TOKEN || !SCOPE_TOKEN.test(s))
      throw fail(
        `${what}: each scope is 1-${MAX_SCOPE_TOKEN} printable ASCII characters without space or " \\`,
      );
  return [...new Set(v as string[])];
}

/** Validates a list of audiences / resource identifiers (no whitespace, at most 512 characters each). */
export function checkAudienceList(v: unknown, what: string, fail: (m: string) => Error): string[] {
  if (!Array.isArray(v) || v.length > MAX_LIST)
    throw fail(`${what} must be a list of at most ${MAX_LIST} audiences`);
  for (const a of v)
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_AUDIENCE || /\s/.test(a))
      throw fail(`${what}: each audience is 1-${MAX_AUDIENCE} characters without whitespace`);
  return [...new Set(v as string[])];
}

const quote = (s: string) => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}...` : s);

/**
 * The scope and audience of an access token, bounded by every source's registered lists (RFC 6749 3.3,
 * RFC 8707 2): a requested scope token or audience outside any list is refused, never silently dropped; no
 * scope requested means the first source's registered default scope (which every other source must allow
 * too), never "everything"; no audience requested means `defaultAudience`, which must be registered like any
 * other. A source without a list (a client registered before the policy existed) allows nothing, and the
 * error names the flag or config key that sets it.
 */
export function decideScopeAndAudience(
  req: { scope?: string | undefined; aud?: string | undefined },
  sources: PolicySource[],
  defaultAudience: string,
): { scope?: string; aud: string } {
  const aud = req.aud ?? defaultAudience;
  for (const s of sources) {
    if (s.policy.audiences === undefined)
      throw new OAuthInvalidTargetError(
        `${s.who} has no registered audiences, so it may obtain no token: ${s.audienceFix}`,
      );
    if (!s.policy.audiences.includes(aud))
      throw new OAuthInvalidTargetError(
        req.aud === undefined
          ? `no audience was requested and the default audience ${quote(aud)} is not registered for ${s.who} (${s.audienceFix})`
          : `audience ${quote(aud)} is not registered for ${s.who} (${s.audienceFix})`,
      );
  }
  const requested =
    req.scope !== undefined ? [...new Set(req.scope.split(' '))] : (sources[0]?.policy.defaultScopes ?? []);
  for (const s of sources) {
    if (requested.length === 0) break;
    if (s.policy.scopes === undefined)
      throw new OAuthInvalidScopeError(`${s.who} has no registered scopes: ${s.scopeFix}`);
    const allowed = s.policy.scopes;
    const outside = requested.find((x) => !allowed.includes(x));
    if (outside !== undefined)
      throw new OAuthInvalidScopeError(
        req.scope === undefined
          ? `the default scope ${quote(outside)} is not registered for ${s.who} (${s.scopeFix})`
          : `scope ${quote(outside)} is not registered for ${s.who} (${s.scopeFix})`,
      );
  }
  return { aud, ...(requested.length > 0 ? { scope: requested.join(' ') } : {}) };
}

/** The registration hints named in policy errors for a registered client. */
export function clientSource(id: string, policy: ClientPolicy): PolicySource {
  return {
    who: `client ${id}`,
    policy,
    scopeFix: `set it with offtoken clients update --id ${id} --scope S... [--default-scope S...]`,
    audienceFix: `set it with offtoken clients update --id ${id} --audience A...`,
  };
}
