import type { FastifyRequest } from 'fastify';
import { OAuthInvalidRequestError } from '../errors/server.js';

/** The longest value of one form parameter: a token presented at /revoke or /introspect included. */
export const MAX_PARAM = 32 * 1024;

/** RFC 6749 3.2 / 4.1.3: a form-encoded body, where a repeated parameter is an error. */
export function formParams(req: FastifyRequest): Record<string, string> {
  const ct = req.headers['content-type'] ?? '';
  if (!ct.toLowerCase().startsWith('application/x-www-form-urlencoded'))
    throw new OAuthInvalidRequestError('the body must be application/x-www-form-urlencoded');
  const body = req.body;
  if (typeof body !== 'object' || body === null) throw new OAuthInvalidRequestError('the body is empty');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new OAuthInvalidRequestError(`parameter ${k} is repeated`);
    if (v.length > MAX_PARAM) throw new OAuthInvalidRequestError(`parameter ${k} is too long`);
    out[k] = v;
  }
  return out;
}

export function required(p: Record<string, string>, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw new OAuthInvalidRequestError(`missing parameter ${name}`);
  return v;
}
