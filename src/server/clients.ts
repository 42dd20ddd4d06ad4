import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { encodeBase64url } from '../encoding/base64url.js';
import { ClientRegistryError } from '../errors/server.js';
import type { AuthorityDb, ClientPolicy } from './db.js';
import { checkAudienceList, checkScopeList } from './policy.js';

const CLIENT_ID = /^[A-Za-z0-9._@:+-]{1,128}$/;

function thumbprint(jwk: Record<string, unknown>): string {
  const m =
    jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return encodeBase64url(createHash('sha256').update(JSON.stringify(m)).digest());
}

/** Normalises one client public key: Ed25519 or P-256 only, no private part, kid defaulting to the thumbprint. */
export function normaliseClientJwk(jwk: unknown): Record<string, unknown> {
  if (typeof jwk !== 'object' || jwk === null) throw new ClientRegistryError('a JWKS key is not an object');
  const k = jwk as Record<string, unknown>;
  if ('d' in k) throw new ClientRegistryError('register public keys only (the JWKS holds a private key)');
  let pub: Record<string, unknown>;
  try {
    pub = createPublicKey({ key: k as never, format: 'jwk' }).export({ format: 'jwk' }) as Record<
      string,
      unknown
    >;
  } catch {
    throw new ClientRegistryError('a JWKS key cannot be imported');
  }
  const alg =
    pub.kty === 'OKP' && pub.crv === 'Ed25519'
      ? 'EdDSA'
      : pub.kty === 'EC' && pub.crv === 'P-256'
        ? 'ES256'
        : undefined;
  if (!alg) throw new ClientRegistryError('client keys must be Ed25519 (EdDSA) or P-256 (ES256)');
  const kid = typeof k.kid === 'string' && k.kid.length > 0 ? k.kid : thumbprint(pub);
  return { ...pub, kid, alg, use: 'sig' };
}

export function jwksKeys(jwks: unknown): Record<string, unknown>[] {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 20)
    throw new ClientRegistryError('the JWKS must hold between 1 and 20 keys');
  return keys.map(normaliseClientJwk);
}

/**
 * Reads the public key out of a service-account key file (the common cloud shape: `client_id` or
 * `client_email`, `private_key_id`, PEM `private_key`). Only the public half is stored.
 */
export function readServiceAccountJwk(sa: unknown): { clientId: string; jwk: Record<string, unknown> } {
  const o = sa as Record<string, unknown>;
  const clientId = (o?.client_id ?? o?.client_email) as unknown;
  if (typeof clientId !== 'string')
    throw new ClientRegistryError('the service account file has no client_id');
  let jwk: Record<string, unknown>;
  if (typeof o.private_key === 'string') {
    try {
      jwk = createPublicKey(createPrivateKey(o.private_key)).export({ format: 'jwk' }) as Record<
        string,
        unknown
      >;
    } catch {
      throw new ClientRegistryError('the service account private_key is not a PEM key');
    }
  } else if (typeof o.public_key === 'string') {
    try {
      jwk = createPublicKey(o.public_key).export({ format: 'jwk' }) as Record<string, unknown>;
    } catch {
      throw new ClientRegistryError('the service account public_key is not a PEM key');
    }
  } else throw new ClientRegistryError('the service account file has no private_key');
  if (typeof o.private_key_id === 'string') jwk.kid = o.private_key_id;
  return { clientId, jwk: normaliseClientJwk(jwk) };
}

export function registerClient(
  db: AuthorityDb,
  id: string,
  keys: Record<string, unknown>[],
  now: number,
  policy: ClientPolicy = {},
): void {
  if (!CLIENT_ID.test(id))
    throw new ClientRegistryError('client id must be 1-128 of A-Z a-z 0-9 . _ @ : + -');
  db.addClient(id, keys, now, checkClientPolicy(policy));
}

/**
 * Validates registered lists (`clients add/update --scope --default-scope --audience --resource-server`):
 * well-formed entries, and a default scope inside the allowed scopes. `current` is the stored policy an
 * update is applied over.
 */
export function checkClientPolicy(p: ClientPolicy, current: ClientPolicy = {}): ClientPolicy {
  const fail = (m: string) => new ClientRegistryError(m);
  const out: ClientPolicy = {};
  if (p.scopes !== undefined) out.scopes = checkScopeList(p.scopes, '--scope', fail);
  if (p.defaultScopes !== undefined)
    out.defaultScopes = checkScopeList(p.defaultScopes, '--default-scope', fail);
  if (p.audiences !== undefined) out.audiences = checkAudienceList(p.audiences, '--audience', fail);
  if (p.resourceServers !== undefined)
    out.resourceServers = checkAudienceList(p.resourceServers, '--resource-server', fail);
  const allowed = out.scopes ?? current.scopes ?? [];
  const outside = (out.defaultScopes ?? current.defaultScopes ?? []).find((x) => !allowed.includes(x));
  if (outside !== undefined)
    throw new ClientRegistryError(`--default-scope ${outside} is not one of the client's --scope values`);
  return out;
}
