import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isOfftokenError } from '../errors/base.js';
import { MtlsBindingMismatchError } from '../errors/dpop.js';
import { checkCertificateBinding } from './binding.js';

declare module 'fastify' {
  interface FastifyRequest {
    mtlsToken?: { token: string; claims: Record<string, unknown> };
  }
}

export interface MtlsPluginOptions {
  /** Verifies the access token (signature, iss, aud, exp) and returns its claims. */
  verifyAccessToken: (token: string) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * Fastify resource-server plugin for certificate-bound access tokens (RFC 8705 3): `Authorization: Bearer`
 * token whose `cnf.x5t#S256` must equal the SHA-256 thumbprint of the TLS client certificate on this
 * connection. The server must be HTTPS with `requestCert: true`.
 */
export async function mtlsPlugin(fastify: FastifyInstance, opts: MtlsPluginOptions): Promise<void> {
  fastify.decorateRequest('mtlsToken', undefined);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(request.headers.authorization ?? '');
      if (!m) throw new MtlsBindingMismatchError('expected Authorization: Bearer <certificate-bound token>');
      const token = m[1] as string;
      const claims = await opts.verifyAccessToken(token);
      const sock = request.raw.socket as { getPeerCertificate?: (d: boolean) => { raw?: Buffer } };
      checkCertificateBinding(claims, sock.getPeerCertificate?.(true) as { raw: Buffer } | undefined);
      request.mtlsToken = { token, claims };
    } catch (e) {
      const code = isOfftokenError(e) ? e.code : 'ERR_INTERNAL';
      reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer error="invalid_token"')
        .send({ error: 'invalid_token', error_description: code });
      return reply;
    }
  });
}
(mtlsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
