import type { ServerOptions as HttpsServerOptions } from 'node:https';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { Authority } from './authority.js';
import type { ServerConfig } from './config.js';
import { notFoundHandler, oauthErrorHandler, rawClientErrorHandler } from './oauth-errors.js';
import { registerIntrospectRevoke } from './routes/introspect-revoke.js';
import { registerOtpRoute } from './routes/otp.js';
import { registerTokenRoute } from './routes/token.js';
import { registerWellKnown } from './routes/well-known.js';

const REQUEST_TIMEOUT_MS = 15_000;
const KEYRING_POLL_MS = 1000;

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
    // a client that trickles its request (slowloris) is cut off instead of holding a socket for minutes
    requestTimeout: REQUEST_TIMEOUT_MS,
    // during graceful shutdown new requests get 503 while in-flight ones finish
    return503OnClosing: true,
    // a bad URL (`/%zz`) or an over-long path parameter gets the same RFC 6749 JSON as every other error
    frameworkErrors: oauthErrorHandler,
    clientErrorHandler: rawClientErrorHandler,
  });
  app.decorate('authority', authority);
  // RFC 6749 3.2 / RFC 7662 2.1 / RFC 7009 2.1: every POST here is form-encoded; the JSON and text parsers
  // Fastify installs by default are removed, so any other content type is 415 before a byte is parsed
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: config.bodyLimit });
  // group commit (AuthorityDb.settled): no response leaves before the writes of its request are committed
  app.addHook('onSend', (_req, _reply, payload, done) => {
    if (!authority.db.pending) return done(null, payload);
    authority.db.settled().then(
      () => done(null, payload),
      (err: Error) => done(err),
    );
  });
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
  // rotation without downtime: `offtoken keys rotate` replaces keyring.json (atomic rename) and the
  // running server picks the new active key within a second; the old key stays in the JWKS as verify-only
  const watch = setInterval(() => {
    try {
      if (authority.reloadKeys())
        app.log.info({ active: authority.keyring.activeKeyId }, 'signing keyring reloaded');
    } catch (err) {
      app.log.error({ err }, 'signing keyring could not be reloaded; keeping the keys in memory');
    }
  }, KEYRING_POLL_MS);
  watch.unref();
  app.addHook('onClose', async () => {
    clearInterval(purge);
    clearInterval(watch);
    authority.close();
  });
  return app;
}
