import type { FastifyInstance } from 'fastify';
import type { Authority } from '../authority.js';

/**
 * GET /: a small index of the endpoints, for whoever opens the authority's address in a browser or with curl.
 * Machines should read the RFC 8414 metadata instead; this index is not a protocol and may grow.
 */
export function registerRoot(app: FastifyInstance, a: Authority, opts: { otp: boolean }): void {
  const endpoints: [method: string, path: string, description: string][] = [
    ['GET', '/.well-known/jwks.json', 'the public signing keys (RFC 7517 JWKS)'],
    ['GET', '/.well-known/oauth-authorization-server', 'authorization server metadata (RFC 8414)'],
    ['POST', '/token', 'access tokens: jwt-bearer, client_credentials, token exchange'],
    ['POST', '/introspect', 'token introspection (RFC 7662)'],
    ['POST', '/revoke', 'token revocation (RFC 7009)'],
    ...(opts.otp ? [['POST', '/otp/verify', 'one-time password check'] as [string, string, string]] : []),
    ['GET', '/status-lists/{id}', 'signed Token Status Lists'],
  ];
  app.get('/', async () => {
    const iss = a.issuer;
    return {
      service: 'offtoken authority',
      issuer: iss,
      metadata: `${iss}/.well-known/oauth-authorization-server`,
      endpoints: endpoints.map(([method, path, description]) => ({
        method,
        url: `${iss}${path}`,
        description,
      })),
      docs: 'docs/service.md in the offtoken package',
    };
  });
}
