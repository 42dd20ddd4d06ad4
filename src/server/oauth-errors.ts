import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SENDER_CONSTRAINED_OAUTH_ERRORS } from '../dpop/token-endpoint.js';
import { OfftokenError } from '../errors/base.js';
import { StoreUnavailableError } from '../errors/stores.js';

/** The one mapping from offtoken error codes to RFC 6749 5.2 error responses (with HTTP status). */
const BY_CODE: Record<string, [string, number]> = {
  ERR_OAUTH_INVALID_REQUEST: ['invalid_request', 400],
  ERR_OAUTH_INVALID_CLIENT: ['invalid_client', 401],
  ERR_OAUTH_INVALID_GRANT: ['invalid_grant', 400],
  ERR_OAUTH_UNSUPPORTED_GRANT_TYPE: ['unsupported_grant_type', 400],
  ERR_OAUTH_INVALID_SCOPE: ['invalid_scope', 400],
  ERR_OAUTH_INVALID_TARGET: ['invalid_target', 400],
  ERR_OAUTH_UNAUTHORIZED_CLIENT: ['unauthorized_client', 400],
  ERR_FEDERATION_CONDITION_FAILED: ['invalid_grant', 400],
  ERR_FEDERATION_MAPPING: ['invalid_grant', 400],
  ERR_FEDERATION_TOKEN_INVALID: ['invalid_grant', 400],
  // a mapping or condition over the external identity spends more than the CEL budget
  ERR_CEL_COST_EXCEEDED: ['invalid_grant', 400],
  ERR_INPUT_TOO_LARGE: ['invalid_request', 413],
  // POST /otp/verify: a wrong, replayed or locked code is a refused grant; a malformed one a bad request
  ERR_OTP_INVALID: ['invalid_grant', 400],
  ERR_OTP_REPLAYED: ['invalid_grant', 400],
  ERR_OTP_LOCKED: ['invalid_grant', 400],
  ERR_OTP_UNKNOWN_CREDENTIAL: ['invalid_grant', 400],
  ERR_OTP_FORMAT: ['invalid_request', 400],
  // DPoP (invalid_dpop_proof / use_dpop_nonce), mTLS binding and downscoping
  ...SENDER_CONSTRAINED_OAUTH_ERRORS,
  // a storage fault (disk full, read-only, deleted database, SQLite busy or I/O error) is the server's and
  // transient: RFC 6749 4.1.2.1 temporarily_unavailable, 503, whichever endpoint it hit
  ERR_STORE_UNAVAILABLE: ['temporarily_unavailable', 503],
};

/**
 * Codes whose message may carry a backend's own text (a SQLite message, a path): the client gets this fixed
 * description instead; the full error goes to the log.
 */
const FIXED_DESCRIPTION: Record<string, string> = {
  ERR_STORE_UNAVAILABLE: 'the authority cannot use its storage right now; retry later',
};

/** errno codes of a file system that refuses a write (full, read-only, gone, failing). */
const FS_FAULTS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'ENOENT']);

/**
 * A raw storage failure that reached the handler untyped (better-sqlite3's SqliteError, an fs errno while
 * writing a data file) becomes the one typed storage code; anything else is returned as it is.
 */
function typedStorageFault(err: unknown): unknown {
  if (err instanceof OfftokenError) return err;
  const e = err as { name?: unknown; code?: unknown; syscall?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (e?.name === 'SqliteError' || code.startsWith('SQLITE_') || (FS_FAULTS.has(code) && e.syscall))
    return new StoreUnavailableError(`storage fault (${code || 'unknown'})`, { cause: err });
  return err;
}

/** The RFC 6749 5.2 answer for an error: status, headers and the `{ error, error_description }` body. */
export function oauthErrorResponse(
  thrown: FastifyError | Error,
  log: FastifyBaseLogger,
): { status: number; headers: Record<string, string>; body: { error: string; error_description: string } } {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  const err = typedStorageFault(thrown) as FastifyError | Error;
  if (err instanceof OfftokenError) {
    const [error, status] = BY_CODE[err.code] ?? ['invalid_request', 400];
    if (status === 401) headers['www-authenticate'] = 'private_key_jwt';
    if (status >= 500) log.error({ err: thrown, code: err.code }, 'request failed on a server-side fault');
    return {
      status,
      headers,
      body: { error, error_description: FIXED_DESCRIPTION[err.code] ?? err.message },
    };
  }
  const fe = err as FastifyError;
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const description =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'the request body is too large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type: use application/x-www-form-urlencoded'
          : 'the request is malformed';
    return { status, headers, body: { error: 'invalid_request', error_description: description } };
  }
  log.error({ err }, 'unexpected error');
  return { status: 500, headers, body: { error: 'server_error', error_description: 'internal error' } };
}

/**
 * Fastify error handler: every error, ours or Fastify's (bad JSON, body too large, wrong media type), becomes
 * `{ error, error_description }`. Never a stack trace; unexpected errors are logged and answered server_error.
 */
export function oauthErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  const r = oauthErrorResponse(err, req.log);
  void reply.code(r.status).headers(r.headers).send(r.body);
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  const route = `${req.method} ${req.url.split('?')[0]}`;
  void reply
    .code(404)
    .header('cache-control', 'no-store')
    .send({
      error: 'invalid_request',
      error_description: `no route ${route.length > 120 ? `${route.slice(0, 120)}...` : route}`,
    });
}

/** How long a connection answered by rawClientErrorHandler may go on sending before it is destroyed. */
const LINGER_MS = 1000;

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (garbage request line, headers over 16 KiB,
 * a request timeout): answered with the same RFC 6749 JSON shape, then the socket is closed.
 */
export function rawClientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, description] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request was not received in time']
        : [400, 'Bad Request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // RFC 9112 9.6: close in stages. The answer goes out with a FIN and what the client is still sending (the rest
  // of its oversized headers or body) is read and dropped until it closes or LINGER_MS pass. Destroying the socket
  // with its input unread makes the kernel reset the connection, and the client then loses the answer (on Node 24,
  // every time).
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
