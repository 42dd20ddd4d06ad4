import type { FastifyReply, FastifyRequest } from 'fastify';
import { intermediaryForAccessToken, TOKEN_TYPE_INTERMEDIARY } from '../downscope/exchange.js';
import { type SenderConstraint, senderConstraintForTokenRequest } from '../dpop/token-endpoint.js';
import { DpopKeyMismatchError, MtlsBindingMismatchError } from '../errors/dpop.js';
import {
  OAuthInvalidGrantError,
  OAuthInvalidRequestError,
  OAuthInvalidScopeError,
  OAuthInvalidTargetError,
} from '../errors/server.js';
import type { Authority } from './authority.js';
import { clientSource, decideScopeAndAudience } from './policy.js';

/**
 * POST /token, before any grant: a `DPoP` proof (RFC 9449 5) yields `cnf.jkt` and token_type DPoP, a TLS
 * client certificate (RFC 8705 3.1) yields `cnf.x5t#S256`. A DPoP request is always answered with the
 * current `DPoP-Nonce` (also on errors, so `use_dpop_nonce` carries the nonce to retry with).
 */
export async function tokenRequestConstraint(
  a: Authority,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<SenderConstraint> {
  if (req.headers.dpop !== undefined) reply.header('DPoP-Nonce', a.dpopNonces.current());
  return senderConstraintForTokenRequest(req, {
    tokenEndpoint: a.tokenEndpoint,
    store: a.dpopReplay,
    nonceManager: a.dpopNonces,
    clock: a.clock,
  });
}

/** Merges the binding into the issued token's claims. */
export function cnfClaims(sc: SenderConstraint): Record<string, unknown> {
  return sc.cnf ? { cnf: sc.cnf } : {};
}

/**
 * RFC 8693 exchange of one of our access tokens for a downscoping intermediary token + session key
 * (docs/formats/downscoped-token.md). A sender-constrained subject token is only exchanged by its holder:
 * the same DPoP key / client certificate must be presented here, else the binding would be laundered away.
 */
export function exchangeForIntermediary(
  a: Authority,
  p: Record<string, string>,
  sc: SenderConstraint,
  req: { scope?: string | undefined; aud?: string | undefined } = {},
): Record<string, unknown> {
  if (p.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token')
    throw new OAuthInvalidRequestError(
      'an intermediary token is exchanged for an access_token subject token',
    );
  const claims = a.verifyOwnToken(p.subject_token ?? '');
  if (!claims || !a.isActive(claims))
    throw new OAuthInvalidGrantError('the subject token is not an active access token of this authority');
  const cnf = (claims.cnf ?? {}) as { jkt?: unknown; 'x5t#S256'?: unknown };
  if (cnf.jkt !== undefined && cnf.jkt !== sc.cnf?.jkt)
    throw new DpopKeyMismatchError('the subject token is DPoP-bound: present a proof with its key');
  if (cnf['x5t#S256'] !== undefined && cnf['x5t#S256'] !== sc.cnf?.['x5t#S256'])
    throw new MtlsBindingMismatchError('the subject token is certificate-bound: present its certificate');
  // RFC 8693 2.1: scope and audience may only narrow the subject token (an intermediary grants its scope)
  const tokenScopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  const outside = req.scope?.split(' ').find((x) => !tokenScopes.includes(x));
  if (outside !== undefined)
    throw new OAuthInvalidScopeError(
      `scope ${JSON.stringify(outside.slice(0, 100))} is not in the subject token`,
    );
  if (req.aud !== undefined && req.aud !== claims.aud)
    throw new OAuthInvalidTargetError('the audience of an intermediary token is that of its subject token');
  const scope = req.scope !== undefined ? [...new Set(req.scope.split(' '))].join(' ') : claims.scope;
  // the subject token's client is held to its lists as registered now: narrowing a client's registration
  // takes effect for the intermediaries of tokens it already holds (federated tokens were bounded at issue)
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : '';
  const policy = a.db.getClientPolicy(clientId);
  if (policy !== undefined && typeof claims.aud === 'string')
    decideScopeAndAudience(
      { scope: typeof scope === 'string' ? scope : undefined, aud: claims.aud },
      [clientSource(clientId, policy)],
      claims.aud,
    );
  const { kid, privateKey } = a.keyring.signingKey();
  const rs = a.downscopeKey;
  const inter = intermediaryForAccessToken(
    { ...claims, scope },
    {
      iss: a.issuer,
      signingKey: privateKey,
      kid,
      rsKey: rs.key,
      rsKid: rs.kid,
      ...(typeof claims.aud === 'string' ? { aud: claims.aud } : {}),
      clock: a.clock,
    },
  );
  return {
    access_token: inter.token,
    issued_token_type: TOKEN_TYPE_INTERMEDIARY,
    // RFC 8693 2.2.1: not usable as an access token by itself
    token_type: 'N_A',
    expires_in: inter.exp - a.now(),
    session_key: inter.sessionKey,
  };
}
