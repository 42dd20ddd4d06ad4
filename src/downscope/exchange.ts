import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { DownscopeInvalidError } from '../errors/dpop.js';
import { createIntermediary, type Intermediary } from './intermediary.js';
import type { AccessRule } from './rules.js';

/** RFC 8693 `requested_token_type` for the intermediary token of client-side downscoping. */
export const TOKEN_TYPE_INTERMEDIARY = 'urn:offtoken:params:oauth:token-type:intermediary';

/**
 * The grant of an access token's scope: each scope token `PERMISSION:RESOURCE_PREFIX` (e.g.
 * `read:bucket/acme/`) grants PERMISSION under the prefix; tokens without a colon are ignored.
 */
export function grantFromScope(scope: unknown): AccessRule[] {
  if (typeof scope !== 'string')
    throw new DownscopeInvalidError('the access token has no scope to downscope');
  const by = new Map<string, string[]>();
  for (const s of scope.split(' ')) {
    const i = s.indexOf(':');
    if (i < 1 || i === s.length - 1) continue;
    const prefix = s.slice(i + 1);
    const perms = by.get(prefix) ?? [];
    perms.push(s.slice(0, i));
    by.set(prefix, perms);
  }
  if (by.size === 0)
    throw new DownscopeInvalidError('the access token scope grants no PERMISSION:RESOURCE_PREFIX');
  return [...by].map(([resource_prefix, permissions]) => ({ resource_prefix, permissions }));
}

/**
 * For the authority's token exchange (`requested_token_type` = TOKEN_TYPE_INTERMEDIARY, subject_token = one of
 * its own verified access tokens): the intermediary carries that token's grant and never outlives it.
 */
export function intermediaryForAccessToken(
  claims: Record<string, unknown>,
  o: {
    iss: string;
    signingKey: KeyObject;
    kid?: string;
    rsKey: KeyObject;
    rsKid: string;
    aud?: string;
    clock?: Clock;
  },
): Intermediary {
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number')
    throw new DownscopeInvalidError('the subject token lacks sub/exp');
  return createIntermediary({
    iss: o.iss,
    sub: claims.sub,
    grant: grantFromScope(claims.scope),
    exp: claims.exp,
    signingKey: o.signingKey,
    rsKey: o.rsKey,
    rsKid: o.rsKid,
    ...(o.kid !== undefined ? { kid: o.kid } : {}),
    ...(o.aud !== undefined ? { aud: o.aud } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
}
