import type { ServerOptions as HttpsServerOptions } from 'node:https';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Clock } from '../clock.js';
import { Authority } from './authority.js';
import type { ServerConfig } from './config.js';
import {
  notFoundHandler,
  oauthErrorHandler,
  oauthErrorResponse,
  rawClientErrorHandler,
} from './oauth-errors.js';
import { registerIntrospectRevoke } from './routes/introspect-revoke.js';
import { registerOtpRoute } from './routes/otp.js';
import { registerRoot } from './routes/root.js';
import { registerTokenRoute } from './routes/token.js';
import { registerWellKnown } from './routes/well-known.js';

const KEYRING_POLL_MS = 1000;
/** How often Node looks for requests past `requestTimeout` (its default, 30 s, would add up to 30 s to it). */
const TIMEOUT_CHECK_MS = 1000;
/** Connections refused at the cap are logged at most this often (an attack must not flood the log). */
const DROP_LOG_MS = 10_000;
/** A request path is logged up to this length (a 16 KiB request line must not become a 16 KiB log line). */
const MAX_LOGGED_PATH = 200;

declare module 'fastify' {
  interface FastifyInstance {
    authority: Authority;
  }
}

/**
 * Builds the authority's Fastify app (not listening). The data dir is created on first use with the SQLite
 * database and the signing keyring. When `config.issuer` is unset the issuer is the bound address, known
 * once `listen` resolves (tests listen on port 0). `logStream` sends the pino log there instead of stdout.
 */
export async function buildServer(
  config: ServerConfig,
  opts: { clock?: Clock; https?: HttpsServerOptions; logStream?: NodeJS.WritableStream } = {},
): Promise<FastifyInstance> {
  const authority = new Authority(config, opts.clock);
  // A client that trickles its request (slowloris), or sends complete headers and then never finishes the body,
  // is cut off with 408 at `requestTimeout`, counted from the first byte of the request. These options must be
  // given when the server is created: Node checks headersTimeout <= requestTimeout only there, and with
  // Fastify's default (requestTimeout set afterwards, headersTimeout left at 60 s) a stalled body was held
  // for 90 s and more.
  const timeouts = {
    requestTimeout: config.requestTimeout,
    headersTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, config.requestTimeout),
  };
  // HTTPS with `requestCert` lets clients present a certificate: tokens are then bound to it (RFC 8705 3)
  const app = Fastify({
    ...(opts.https ? { https: { ...timeouts, ...opts.https } } : { http: timeouts }),
    logger: opts.logStream
      ? { level: config.logLevel, stream: opts.logStream }
      : config.logLevel === 'silent'
        ? false
        : { level: config.logLevel },
    // one line per request, written by the onResponse hook below, instead of Fastify's two ("incoming request",
    // "request completed") that also carry the query string
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    // during graceful shutdown new requests get 503 while in-flight ones finish
    return503OnClosing: true,
    // a bad URL (`/%zz`) or an over-long path parameter gets the same RFC 6749 JSON as every other error
    frameworkErrors: oauthErrorHandler,
    clientErrorHandler: rawClientErrorHandler,
  });
  app.decorate('authority', authority);
  // every open socket holds a file descriptor: past the cap, Node closes new connections on accept
  app.server.maxConnections = config.maxConnections;
  let lastDropLog = 0;
  app.server.on('drop', () => {
    const t = Date.now();
    if (t - lastDropLog < DROP_LOG_MS) return;
    lastDropLog = t;
    app.log.warn({ maxConnections: config.maxConnections }, 'connection refused: maxConnections reached');
  });
  // The body-read deadline: a request whose body has not fully arrived `requestTimeout` after its headers is
  // answered 408 and its socket closed, whatever the parser's own timer does (a handler never waits on it).
  app.addHook('onRequest', (req, reply, done) => {
    const raw = req.raw;
    const length = raw.headers['content-length'];
    if (raw.complete || ((length === undefined || length === '0') && !raw.headers['transfer-encoding']))
      return done();
    const timer = setTimeout(() => {
      if (raw.complete) return;
      if (reply.raw.headersSent) raw.socket.destroy();
      else
        rawClientErrorHandler(
          Object.assign(new Error('request body timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
          raw.socket,
        );
    }, config.requestTimeout);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
    done();
  });
  // RFC 6749 3.2 / RFC 7662 2.1 / RFC 7009 2.1: every POST here is form-encoded; the JSON and text parsers
  // Fastify installs by default are removed, so any other content type is 415 before a byte is parsed
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: config.bodyLimit });
  // group commit (AuthorityDb.settled): no response leaves before the writes of its request are committed.
  // A failed commit replaces whatever was about to be sent - a token, or an error answer already being sent,
  // which Fastify would otherwise pass to its default handler (a 400 carrying SQLite's own code) - with the
  // storage fault's answer from the one error table: 503 temporarily_unavailable.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!authority.db.pending) return done(null, payload);
    authority.db.settled().then(
      () => done(null, payload),
      (err: Error) => {
        const r = oauthErrorResponse(err, req.log);
        reply.removeHeader('content-length');
        reply.removeHeader('www-authenticate');
        void reply
          .code(r.status)
          .headers(r.headers)
          .header('content-type', 'application/json; charset=utf-8');
        done(null, JSON.stringify(r.body));
      },
    );
  });
  // One line per request at info. The query string is left out: a client may put a token, an assertion or a
  // code there (they belong in the body, but a mistaken client must not get them written to the log).
  app.addHook('onResponse', (req, reply, done) => {
    const pathname = req.url.split('?', 1)[0] ?? '';
    req.log.info(
      {
        method: req.method,
        url: pathname.length > MAX_LOGGED_PATH ? `${pathname.slice(0, MAX_LOGGED_PATH)}...` : pathname,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
    done();
  });
  app.setErrorHandler(oauthErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerWellKnown(app, authority);
  registerTokenRoute(app, authority);
  registerIntrospectRevoke(app, authority);
  const otp = await registerOtpRoute(app, authority);
  registerRoot(app, authority, { otp });
  app.addHook('onListen', async () => {
    if (config.issuer) return;
    const addr = app.server.address();
    if (addr && typeof addr === 'object') {
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      authority.setIssuer(`${opts.https ? 'https' : 'http'}://${host}:${addr.port}`);
    }
  });
  const purge = setInterval(() => {
    try {
      authority.db.purgeSeen(authority.now());
    } catch (err) {
      // a full disk must not crash the server from a timer: the next run retries
      app.log.error({ err }, 'could not purge expired jti entries');
    }
  }, 60_000);
  purge.unref();
  // rotation without downtime: `offtoken keys rotate` replaces keyring.json (atomic rename) and the
  // running server picks the new active key within a second; the old key stays in the JWKS as verify-only
  let dbLost = false;
  const watch = setInterval(() => {
    // a database deleted or replaced under the server is not written to any more (writes answer 503): say so
    const lost = authority.db.fileFault();
    if (lost && !dbLost) app.log.error({ err: lost }, 'authority database lost; writes are refused');
    else if (!lost && dbLost) app.log.warn('authority database is back');
    dbLost = lost !== undefined;
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
