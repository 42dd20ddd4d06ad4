import type { FastifyReply, FastifyRequest } from 'fastify';
import { intermediaryForAccessToken, TOKEN_TYPE_INTERMEDIARY } from '../downscope/exchange.js';
import { type SenderConstraint, senderConstraintForTokenRequest } from '../dpop/token-endpoint.js';
import { DpopKeyMismatchError, MtlsBindingMismatchError } from '../errors/dpop.js';
import { OAuthInvalidGrantError, OAuthInvalidRequestError } from '../errors/server.js';
import type { Authority } from './authority.js';

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
  const { kid, privateKey } = a.keyring.signingKey();
  const rs = a.downscopeKey;
  const inter = intermediaryForAccessToken(claims, {
    iss: a.issuer,
    signingKey: privateKey,
    kid,
    rsKey: rs.key,
    rsKid: rs.kid,
    ...(typeof claims.aud === 'string' ? { aud: claims.aud } : {}),
    clock: a.clock,
  });
  return {
    access_token: inter.token,
    issued_token_type: TOKEN_TYPE_INTERMEDIARY,
    // RFC 8693 2.2.1: not usable as an access token by itself
    token_type: 'N_A',
    expires_in: inter.exp - a.now(),
    session_key: inter.sessionKey,
  };
}
