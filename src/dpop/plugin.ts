import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Clock, systemClock } from '../clock.js';
import { isOfftokenError } from '../errors/base.js';
import { checkCertificateBinding } from '../mtls/binding.js';
import type { ReplayStore } from '../stores/types.js';
import type { DpopNonceManager } from './nonce.js';
import { type VerifiedDpopRequest, verifyDpopRequest } from './request.js';

declare module 'fastify' {
  interface FastifyRequest {
    dpop?: VerifiedDpopRequest;
  }
}

export interface DpopPluginOptions {
  verifyAccessToken: (token: string) => Record<string, unknown> | Promise<Record<string, unknown>>;
  store: ReplayStore;
  nonceManager?: DpopNonceManager;
  /** The public origin clients address (e.g. https://api.example.com); default from the request's protocol and host. */
  origin?: string;
  /** Also require the token's `cnf.x5t#S256` (when present) to match the TLS client certificate (RFC 8705). */
  mtls?: boolean;
  iatWindow?: number;
  clock?: Clock;
}

const NONCE_CODES = new Set(['ERR_DPOP_NONCE_REQUIRED']);

/**
 * Fastify resource-server plugin: every request under it must carry a DPoP-bound token and a valid proof.
 * Rejections follow RFC 9449 7.1/9: 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (or
 * `use_dpop_nonce` plus a fresh `DPoP-Nonce`), or `invalid_token` for the token itself.
 */
export async function dpopPlugin(fastify: FastifyInstance, opts: DpopPluginOptions): Promise<void> {
  fastify.decorateRequest('dpop', undefined);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = opts.origin ?? `${request.protocol}://${request.host}`;
    try {
      request.dpop = await verifyDpopRequest({
        authorization: request.headers.authorization,
        dpop: request.headers.dpop,
        method: request.method,
        url: origin + request.url,
        verifyAccessToken: opts.verifyAccessToken,
        replay: opts.store,
        ...(opts.nonceManager ? { nonce: opts.nonceManager } : {}),
        ...(opts.iatWindow !== undefined ? { iatWindow: opts.iatWindow } : {}),
        clock: opts.clock ?? systemClock,
      });
      // RFC 9449 8.2: a nonce may be supplied on any response, so clients move to a new one before the old expires
      if (opts.nonceManager) reply.header('DPoP-Nonce', opts.nonceManager.current());
      if (opts.mtls) {
        const cnf = request.dpop.claims.cnf as Record<string, unknown>;
        if (cnf['x5t#S256'] !== undefined) {
          const sock = request.raw.socket as { getPeerCertificate?: (d: boolean) => { raw?: Buffer } };
          checkCertificateBinding(
            request.dpop.claims,
            sock.getPeerCertificate?.(true) as { raw: Buffer } | undefined,
          );
        }
      }
    } catch (e) {
      const code = isOfftokenError(e) ? e.code : 'ERR_INTERNAL';
      if (opts.nonceManager) reply.header('DPoP-Nonce', opts.nonceManager.current());
      const error = NONCE_CODES.has(code)
        ? 'use_dpop_nonce'
        : code.startsWith('ERR_DPOP_') &&
            code !== 'ERR_DPOP_KEY_MISMATCH' &&
            code !== 'ERR_DPOP_REQUEST_INVALID'
          ? 'invalid_dpop_proof'
          : 'invalid_token';
      reply
        .code(401)
        .header('WWW-Authenticate', `DPoP error="${error}", algs="ES256 EdDSA Ed25519 ES384 PS256 RS256"`)
        .send({ error, error_description: code });
      return reply;
    }
  });
}
// Hooks apply to the instance the plugin is registered on (what fastify-plugin does), so routes
// declared beside `register(dpopPlugin)` are protected.
(dpopPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
