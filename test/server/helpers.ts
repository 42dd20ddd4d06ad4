import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { buildServer } from '../../src/server/app.js';
import { normaliseClientJwk, registerClient } from '../../src/server/clients.js';
import { resolveConfig, type ServerConfig } from '../../src/server/config.js';
import type { ClientPolicy } from '../../src/server/db.js';
import { signCompact } from '../../src/status-list/jws.js';

export interface TestServer {
  app: FastifyInstance;
  base: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startServer(
  extra: Partial<ServerConfig> = {},
  opts: Parameters<typeof buildServer>[1] = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
  // The CLI tests block this process (spawnSync) for longer than the default keep-alive: a socket the server
  // closes while blocked would then be reused by fetch and fail. Tests of the limit itself pass their own.
  const config = resolveConfig({ dataDir, port: 0, logLevel: 'silent', keepAliveTimeout: 120_000, ...extra });
  const app = await buildServer(config, opts);
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base, dataDir, close: () => app.close() };
}

export interface TestClient {
  id: string;
  kid: string;
  privateKey: KeyObject;
}

/** Registers a client; unless told otherwise it may obtain tokens for the default audience only. */
export function addClient(
  s: TestServer,
  id: string,
  kind: 'ed25519' | 'p256' = 'ed25519',
  policy: ClientPolicy = { audiences: [s.app.authority.config.defaultAudience ?? s.app.authority.issuer] },
): TestClient {
  const { privateKey, publicKey } =
    kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = normaliseClientJwk(publicKey.export({ format: 'jwk' }));
  registerClient(s.app.authority.db, id, [jwk], Math.floor(Date.now() / 1000), policy);
  return { id, kid: jwk.kid as string, privateKey };
}

export function assertion(
  c: TestClient,
  aud: string,
  over: Record<string, unknown> = {},
  kid = c.kid,
): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: c.id,
    sub: c.id,
    aud,
    iat: now,
    exp: now + 120,
    jti: randomBytes(12).toString('base64url'),
    ...over,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return signCompact({ kid, typ: 'JWT' }, claims, c.privateKey);
}

export async function post(
  url: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {}
  if (res.status === 200 && new URL(url).pathname === '/token') await joseAccepts(url, body);
  return { status: res.status, body, text };
}

/**
 * Issue 5: jose verifies every access token the tests obtain, with the JWKS the server publishes and the
 * issuer its RFC 8414 metadata names (an RFC 8693 intermediary token is not an access token and is left out).
 */
async function joseAccepts(tokenUrl: string, body: Record<string, unknown>): Promise<void> {
  const issued = body.issued_token_type;
  if (issued !== undefined && issued !== 'urn:ietf:params:oauth:token-type:access_token') return;
  if (typeof body.access_token !== 'string') throw new Error('a 200 from /token without access_token');
  const origin = new URL(tokenUrl).origin;
  const meta = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as {
    issuer: string;
  };
  const jwks = (await (await fetch(`${origin}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), {
    issuer: meta.issuer,
    typ: 'at+jwt',
    requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
  });
  if (
    typeof body.expires_in === 'number' &&
    (payload.exp as number) - (payload.iat as number) !== body.expires_in
  )
    throw new Error('expires_in does not match the token lifetime');
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
