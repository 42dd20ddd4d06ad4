import type { FastifyInstance } from 'fastify';
import { OAuthUnauthorizedClientError } from '../../errors/server.js';
import type { Authority } from '../authority.js';
import { authenticateClient } from '../client-auth.js';
import { formParams, required } from '../params.js';

export function registerIntrospectRevoke(app: FastifyInstance, a: Authority): void {
  // RFC 7662 2: the caller must authenticate; an unknown, expired or revoked token is { active: false }, and so
  // is another client's token unless the caller is a registered resource server for its audience (RFC 7662 4)
  app.post('/introspect', async (req, reply) => {
    const p = formParams(req);
    const clientId = authenticateClient(a, p, '/introspect');
    reply.header('cache-control', 'no-store');
    return a.introspect(required(p, 'token'), clientId);
  });

  // RFC 7009 2.1: only the client the token was issued to may revoke it; 2.2: unknown tokens still get 200
  app.post('/revoke', async (req, reply) => {
    const p = formParams(req);
    const clientId = authenticateClient(a, p, '/revoke');
    const claims = a.verifyOwnToken(required(p, 'token'));
    if (claims) {
      if (claims.client_id !== clientId)
        throw new OAuthUnauthorizedClientError('the token was not issued to this client');
      a.revoke(claims);
    }
    reply.header('cache-control', 'no-store');
    return reply.code(200).send();
  });
}
