import type { ServerOptions as HttpsServerOptions } from 'node:https';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { Authority } from './authority.js';
import type { ServerConfig } from './config.js';
import { notFoundHandler, oauthErrorHandler } from './oauth-errors.js';
import { registerIntrospectRevoke } from './routes/introspect-revoke.js';
import { registerOtpRoute } from './routes/otp.js';
import { registerTokenRoute } from './routes/token.js';
import { registerWellKnown } from './routes/well-known.js';

declare module 'fastify' {
  interface FastifyInstance {
    authority: Authority;
  }
}

/**
 * Builds the authority's Fastify app (not listening). The data dir is created on first use with the SQLite
 * database and the signing keyring. When `config.issuer` is unset the issuer is the bound address, known
 * once `listen` resolves (tests listen on port 0).
 */
export async function buildServer(
  config: ServerConfig,
  opts: { clock?: Clock; https?: HttpsServerOptions } = {},
): Promise<FastifyInstance> {
  const authority = new Authority(config, opts.clock);
  // HTTPS with `requestCert` lets clients present a certificate: tokens are then bound to it (RFC 8705 3)
  const app = Fastify({
    ...(opts.https ? { https: opts.https } : {}),
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    // during graceful shutdown new requests get 503 while in-flight ones finish
    return503OnClosing: true,
  });
  app.decorate('authority', authority);
  await app.register(formbody, { bodyLimit: config.bodyLimit });
  app.setErrorHandler(oauthErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerWellKnown(app, authority);
  registerTokenRoute(app, authority);
  registerIntrospectRevoke(app, authority);
  await registerOtpRoute(app, authority);
  app.addHook('onListen', async () => {
    if (config.issuer) return;
    const addr = app.server.address();
    if (addr && typeof addr === 'object') {
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      authority.setIssuer(`${opts.https ? 'https' : 'http'}://${host}:${addr.port}`);
    }
  });
  const purge = setInterval(() => authority.db.purgeSeen(authority.now()), 60_000);
  purge.unref();
  app.addHook('onClose', async () => {
    clearInterval(purge);
    authority.close();
  });
  return app;
}
