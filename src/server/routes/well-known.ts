import type { FastifyInstance } from 'fastify';
import type { Authority } from '../authority.js';
import { GRANT_JWT_BEARER, GRANT_TOKEN_EXCHANGE } from './token.js';

export function registerWellKnown(app: FastifyInstance, a: Authority): void {
  app.get('/.well-known/jwks.json', async (_req, reply) => {
    // short cache: a rotation must be visible well before the old key leaves the set
    reply.header('cache-control', 'public, max-age=60');
    return a.keyring.jwks(a.now());
  });

  // RFC 8414 2: authorization server metadata
  app.get('/.well-known/oauth-authorization-server', async () => {
    const iss = a.issuer;
    return {
      issuer: iss,
      token_endpoint: `${iss}/token`,
      jwks_uri: `${iss}/.well-known/jwks.json`,
      introspection_endpoint: `${iss}/introspect`,
      revocation_endpoint: `${iss}/revoke`,
      grant_types_supported: [GRANT_JWT_BEARER, 'client_credentials', GRANT_TOKEN_EXCHANGE],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256'],
      introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
      revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
      response_types_supported: [],
      status_list_endpoint_prefix: `${iss}/status-lists/`,
      // RFC 9449 5.1 and RFC 8705 3.3: sender-constrained tokens
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'Ed25519', 'ES384', 'PS256', 'RS256'],
      tls_client_certificate_bound_access_tokens: true,
    };
  });

  app.get<{ Params: { id: string } }>('/status-lists/:id', async (req, reply) => {
    const id = req.params.id;
    const token = /^\d{1,9}$/.test(id) ? a.statusListToken(id) : undefined;
    if (!token)
      return reply
        .code(404)
        .header('cache-control', 'no-store')
        .send({ error: 'invalid_request', error_description: 'no such status list' });
    reply
      .header('content-type', 'application/statuslist+jwt')
      .header('cache-control', `max-age=${a.config.statusList.ttl}`);
    return reply.send(token);
  });
}
