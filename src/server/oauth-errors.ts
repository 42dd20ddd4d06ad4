import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SENDER_CONSTRAINED_OAUTH_ERRORS } from '../dpop/token-endpoint.js';
import { OfftokenError } from '../errors/base.js';

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
  ERR_INPUT_TOO_LARGE: ['invalid_request', 413],
  // POST /otp/verify: a wrong, replayed or locked code is a refused grant; a malformed one a bad request
  ERR_OTP_INVALID: ['invalid_grant', 400],
  ERR_OTP_REPLAYED: ['invalid_grant', 400],
  ERR_OTP_LOCKED: ['invalid_grant', 400],
  ERR_OTP_UNKNOWN_CREDENTIAL: ['invalid_grant', 400],
  ERR_OTP_FORMAT: ['invalid_request', 400],
  // DPoP (invalid_dpop_proof / use_dpop_nonce), mTLS binding and downscoping
  ...SENDER_CONSTRAINED_OAUTH_ERRORS,
};

/**
 * Fastify error handler: every error, ours or Fastify's (bad JSON, body too large, wrong media type), becomes
 * `{ error, error_description }`. Never a stack trace; unexpected errors are logged and answered server_error.
 */
export function oauthErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
  if (err instanceof OfftokenError) {
    const [error, status] = BY_CODE[err.code] ?? ['invalid_request', 400];
    if (status === 401) reply.header('www-authenticate', 'private_key_jwt');
    void reply.code(status).send({ error, error_description: err.message });
    return;
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
    void reply.code(status).send({ error: 'invalid_request', error_description: description });
    return;
  }
  req.log.error({ err }, 'unexpected error');
  void reply.code(500).send({ error: 'server_error', error_description: 'internal error' });
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
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  socket.destroy();
}
