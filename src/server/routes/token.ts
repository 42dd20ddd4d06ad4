import type { FastifyInstance } from 'fastify';
import { TOKEN_TYPE_INTERMEDIARY } from '../../downscope/exchange.js';
import {
  OAuthInvalidGrantError,
  OAuthInvalidRequestError,
  OAuthInvalidScopeError,
  OAuthInvalidTargetError,
  OAuthUnsupportedGrantTypeError,
} from '../../errors/server.js';
import type { FederatedIdentity } from '../../federation/oidc.js';
import type { Authority } from '../authority.js';
import { authenticateClient, hasClientAssertion, verifyGrantAssertion } from '../client-auth.js';
import { formParams, required } from '../params.js';
import { clientSource, decideScopeAndAudience, type PolicySource } from '../policy.js';
import { cnfClaims, exchangeForIntermediary, tokenRequestConstraint } from '../sender-constraint.js';

export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_SAML2 = 'urn:ietf:params:oauth:token-type:saml2';

const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

function scopeParam(p: Record<string, string>): string | undefined {
  const s = p.scope;
  if (s === undefined) return undefined;
  // RFC 6749 3.3: space-delimited NQCHAR tokens
  if (!SCOPE.test(s) || s.length > 1024) throw new OAuthInvalidScopeError('scope is malformed');
  return s;
}

function audienceParam(p: Record<string, string>): string | undefined {
  const aud = p.audience ?? p.resource;
  if (aud === undefined) return undefined;
  if (p.audience !== undefined && p.resource !== undefined && p.audience !== p.resource)
    throw new OAuthInvalidTargetError('give audience or resource, not two different targets');
  if (aud.length > 512 || /\s/.test(aud))
    throw new OAuthInvalidTargetError('the requested audience is malformed');
  return aud;
}

/** The registered lists of an authenticated client (it exists: authentication just found it). */
function clientPolicy(a: Authority, clientId: string): PolicySource {
  return clientSource(clientId, a.db.getClientPolicy(clientId) ?? {});
}

/** A federation provider's lists for one external identity (static, or computed by CEL from its token). */
function providerPolicy(id: FederatedIdentity): PolicySource {
  const where = `of federation provider ${id.issuer} in the server config (docs/config.md)`;
  return {
    who: `federation provider ${id.issuer}`,
    policy: id.policy,
    scopeFix: `set allowed_scopes (and default_scopes) ${where}`,
    audienceFix: `set allowed_audiences ${where}`,
  };
}

/** RFC 8693 3: a saml2 subject token is the base64url-encoded assertion; each configured IdP is tried by Issuer. */
function verifySaml(a: Authority, token: string): FederatedIdentity {
  if (a.samlProviders.length === 0) throw new OAuthInvalidGrantError('no SAML identity provider is trusted');
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(token))
    throw new OAuthInvalidRequestError('a saml2 subject_token is base64url');
  let last: unknown;
  for (const p of a.samlProviders) {
    try {
      return p.verify(token.replace(/=+$/, ''));
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/** The `aud` of a token whose request names none (config `defaultAudience`, else the issuer). */
function defaultAudience(a: Authority): string {
  return a.config.defaultAudience ?? a.issuer;
}

export function registerTokenRoute(app: FastifyInstance, a: Authority): void {
  app.post('/token', async (req, reply) => {
    const p = formParams(req);
    const grantType = required(p, 'grant_type');
    const scope = scopeParam(p);
    const aud = audienceParam(p);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    // DPoP proof -> cnf.jkt, TLS client certificate -> cnf.x5t#S256 (RFC 9449 5, RFC 8705 3)
    const sc = await tokenRequestConstraint(a, req, reply);

    if (grantType === GRANT_JWT_BEARER) {
      // RFC 7523 2.1: the service account's own signed assertion is the grant. Its jti is the one write of a
      // grant (the status slot comes from a reserved block), so a grant costs one SQLite commit
      const clientId = verifyGrantAssertion(a, p.assertion);
      const g = decideScopeAndAudience({ scope, aud }, [clientPolicy(a, clientId)], defaultAudience(a));
      const t = a.issue({ clientId, sub: clientId, ...g, extra: cnfClaims(sc) });
      // RFC 6749 5.1: the issued scope is returned whenever there is one (a default scope was not requested)
      return {
        access_token: t.token,
        token_type: sc.tokenType,
        expires_in: t.expiresIn,
        ...(g.scope ? { scope: g.scope } : {}),
      };
    }

    if (grantType === 'client_credentials') {
      const clientId = authenticateClient(a, p, '/token');
      const g = decideScopeAndAudience({ scope, aud }, [clientPolicy(a, clientId)], defaultAudience(a));
      const t = a.issue({ clientId, sub: clientId, ...g, extra: cnfClaims(sc) });
      return {
        access_token: t.token,
        token_type: sc.tokenType,
        expires_in: t.expiresIn,
        ...(g.scope ? { scope: g.scope } : {}),
      };
    }

    if (grantType === GRANT_TOKEN_EXCHANGE) {
      // RFC 8693 2.1: client authentication is optional (workload federation has no client secret)
      const clientId = hasClientAssertion(p) ? authenticateClient(a, p, '/token') : undefined;
      const subjectToken = required(p, 'subject_token');
      const subjectTokenType = required(p, 'subject_token_type');
      if (p.requested_token_type === TOKEN_TYPE_INTERMEDIARY)
        return exchangeForIntermediary(a, p, sc, { scope, aud });
      if (p.requested_token_type !== undefined && p.requested_token_type !== TOKEN_TYPE_ACCESS_TOKEN)
        throw new OAuthInvalidRequestError('only access tokens can be requested');
      let id: FederatedIdentity;
      if (subjectTokenType === TOKEN_TYPE_SAML2) {
        id = verifySaml(a, subjectToken);
      } else {
        if (subjectTokenType !== TOKEN_TYPE_JWT && subjectTokenType !== TOKEN_TYPE_ID_TOKEN)
          throw new OAuthInvalidRequestError('subject_token_type must be jwt, id_token or saml2');
        let iss: unknown;
        try {
          const payload = subjectToken.split('.')[1] ?? '';
          iss = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')).iss;
        } catch {
          throw new OAuthInvalidGrantError('the subject token is not a JWT');
        }
        const provider = typeof iss === 'string' ? a.providers.get(iss) : undefined;
        if (!provider) throw new OAuthInvalidGrantError('the subject token issuer is not a trusted provider');
        id = await provider.verify(subjectToken);
      }
      // the provider's lists bound what the federated identity gets; an authenticated client acting for it
      // is bounded by its own lists too (the default scope is the provider's)
      const g = decideScopeAndAudience(
        { scope, aud },
        [providerPolicy(id), ...(clientId ? [clientPolicy(a, clientId)] : [])],
        defaultAudience(a),
      );
      // single_use providers: the subject token's jti is consumed in the replay table until its exp
      if (
        id.replayKey !== undefined &&
        !a.db.consumeOnce(`subject:${id.issuer}`, id.replayKey, id.exp, a.now())
      )
        throw new OAuthInvalidGrantError(
          'the subject token was already exchanged (the provider is single_use)',
        );
      const t = a.issue({
        clientId: clientId ?? id.issuer,
        sub: id.subject,
        notAfter: id.exp,
        ...g,
        ...(clientId ? { act: { sub: clientId } } : {}),
        extra: { ...id.attributes, ...cnfClaims(sc) },
      });
      return {
        access_token: t.token,
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        token_type: sc.tokenType,
        expires_in: t.expiresIn,
        ...(g.scope ? { scope: g.scope } : {}),
      };
    }

    throw new OAuthUnsupportedGrantTypeError(`grant_type ${grantType.slice(0, 100)} is not supported`);
  });
}
