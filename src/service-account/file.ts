import { createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { linkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { withArticle } from '../errors/article.js';
import { InvalidArgumentError, OfftokenError } from '../errors/base.js';
import { KeyfileInvalidError, ServiceAccountInvalidError } from '../errors/keys.js';
import { exportJwk, generateKey, privateJwkMatchesPublic } from '../keys/jwk.js';
import { readPrivateFileSync } from '../keys/keyfile.js';
import { exportPem, importPem } from '../keys/pem.js';
import type { Jwk, Jwks, OfftokenKey } from '../keys/types.js';

/** The algorithms a service account signs with, chosen from its key type (RS256 for RSA, as the cloud does). */
export type ServiceAccountAlg = 'EdDSA' | 'ES256' | 'ES384' | 'ES512' | 'RS256';

/** The JSON on disk (docs/formats/service-account.md); the shape the authority's `clients add` reads. */
export interface ServiceAccountFile {
  type: 'service_account';
  client_id: string;
  client_email?: string;
  private_key_id: string;
  /** PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  private_key: string;
  token_uri?: string;
}

/** A loaded service account: the identity and the imported key pair. */
export interface ServiceAccount {
  clientId: string;
  /** Absent in files that carry only a client_id (e.g. written by `offtoken clients add --generate`). */
  clientEmail?: string;
  /** The `kid` of every JWT the account signs. */
  keyId: string;
  alg: ServiceAccountAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  tokenUri?: string;
}

export const MAX_SERVICE_ACCOUNT_FILE = 64 * 1024;
// The authority's client id alphabet (src/server/clients.ts), so every file offtoken accepts can be registered.
const CLIENT_ID = /^[A-Za-z0-9._@:+-]{1,128}$/;
// RFC 5321 bounds an address at 254 octets; no spaces or controls.
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;
const KID = /^[\x21-\x7e]{1,128}$/;

function invalid(message: string): ServiceAccountInvalidError {
  return new ServiceAccountInvalidError(message);
}

function algOf(key: KeyObject): ServiceAccountAlg {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return 'EdDSA';
  if (t === 'rsa') return 'RS256';
  if (t === 'ec') {
    const crv = key.asymmetricKeyDetails?.namedCurve;
    if (crv === 'prime256v1') return 'ES256';
    if (crv === 'secp384r1') return 'ES384';
    if (crv === 'secp521r1') return 'ES512';
  }
  throw invalid(`${withArticle(t ?? 'unknown')} private key cannot sign service-account JWTs`);
}

function checkUrl(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > 2048) throw invalid(`${what} must be a URL`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw invalid(`${what} must be an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid(`${what} must be an http(s) URL`);
  return value;
}

function fromKey(
  key: OfftokenKey,
  ids: { clientId: string; clientEmail?: string | undefined; tokenUri?: string | undefined },
): ServiceAccount {
  return {
    clientId: ids.clientId,
    ...(ids.clientEmail !== undefined ? { clientEmail: ids.clientEmail } : {}),
    keyId: key.kid,
    alg: key.alg as ServiceAccountAlg,
    privateKey: key.privateKey as KeyObject,
    publicKey: key.publicKey as KeyObject,
    ...(ids.tokenUri !== undefined ? { tokenUri: ids.tokenUri } : {}),
  };
}

/**
 * Creates a service account with a fresh key from the CSPRNG. The default alg is EdDSA, which the offtoken
 * authority accepts for client keys (as it does ES256); RS256 makes a 2048-bit (or `modulusLength`) RSA key
 * for peers that expect the cloud default. The key id is the RFC 7638 thumbprint of the public key.
 */
export function createServiceAccount(
  opts: {
    clientId?: string;
    clientEmail?: string;
    alg?: ServiceAccountAlg;
    modulusLength?: number;
    tokenUri?: string;
  } = {},
): ServiceAccount {
  const clientId = opts.clientId ?? `sa-${randomBytes(8).toString('hex')}`;
  if (!CLIENT_ID.test(clientId))
    throw new InvalidArgumentError('clientId must be 1-128 of A-Z a-z 0-9 . _ @ : + -');
  if (opts.clientEmail !== undefined && !EMAIL.test(opts.clientEmail))
    throw new InvalidArgumentError('clientEmail must be an address like name@example.com');
  const alg = opts.alg ?? 'EdDSA';
  if (!['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256'].includes(alg))
    throw new InvalidArgumentError('alg must be EdDSA, ES256, ES384, ES512 or RS256');
  const tokenUri = opts.tokenUri === undefined ? undefined : checkUrlArg(opts.tokenUri);
  const key = generateKey(alg, opts.modulusLength !== undefined ? { modulusLength: opts.modulusLength } : {});
  return fromKey(key, { clientId, clientEmail: opts.clientEmail, tokenUri });
}

function checkUrlArg(v: string): string {
  try {
    return checkUrl(v, 'tokenUri');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The file form of an account (members in the cloud format's order). */
export function serviceAccountToJson(sa: ServiceAccount): ServiceAccountFile {
  const key: OfftokenKey = {
    kid: sa.keyId,
    alg: sa.alg,
    use: 'sig',
    kty: sa.alg === 'EdDSA' ? 'OKP' : sa.alg === 'RS256' ? 'RSA' : 'EC',
    privateKey: sa.privateKey,
    publicKey: sa.publicKey,
  };
  return {
    type: 'service_account',
    client_id: sa.clientId,
    ...(sa.clientEmail !== undefined ? { client_email: sa.clientEmail } : {}),
    private_key_id: sa.keyId,
    private_key: exportPem(key, { private: true }),
    ...(sa.tokenUri !== undefined ? { token_uri: sa.tokenUri } : {}),
  };
}

/**
 * Validates and imports a parsed service-account document. Members other than those below (the cloud
 * format's project_id, auth_uri...) are ignored. `private_key_id` defaults to the RFC 7638 thumbprint, the
 * same default the authority applies when it registers the file.
 */
/** What a JSON document given where a service-account file was expected is instead (the usual mix-ups). */
export function notAServiceAccountFile(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const o = doc as Record<string, unknown>;
  if (o.type === 'service_account') return undefined;
  if (Array.isArray(o.keys))
    return 'the file is a JWKS (a set of public keys), not a service-account file (service-account create)';
  if (o.type === 'offtoken-key' || o.v === 1)
    return 'the file is an offtoken key file, not a service-account file (service-account create)';
  return undefined;
}

export function parseServiceAccount(doc: unknown): ServiceAccount {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw invalid('a service-account file is a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.type !== 'service_account')
    throw invalid(notAServiceAccountFile(o) ?? 'type must be "service_account"');
  const clientId = o.client_id ?? o.client_email;
  if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId))
    throw invalid('client_id must be 1-128 of A-Z a-z 0-9 . _ @ : + -');
  if (o.client_email !== undefined && (typeof o.client_email !== 'string' || !EMAIL.test(o.client_email)))
    throw invalid('client_email must be an address');
  if (o.private_key_id !== undefined && (typeof o.private_key_id !== 'string' || !KID.test(o.private_key_id)))
    throw invalid('private_key_id must be 1-128 printable characters');
  if (typeof o.private_key !== 'string') throw invalid('private_key must be a PEM string');
  const tokenUri = o.token_uri === undefined ? undefined : checkUrl(o.token_uri, 'token_uri');
  let alg: ServiceAccountAlg;
  try {
    alg = algOf(createPrivateKey({ key: o.private_key, format: 'pem' }));
  } catch (e) {
    if (e instanceof OfftokenError) throw e;
    throw invalid('private_key is not a PEM private key');
  }
  let key: OfftokenKey;
  try {
    key = importPem(o.private_key, alg, {
      ...(typeof o.private_key_id === 'string' ? { kid: o.private_key_id } : {}),
    });
  } catch (e) {
    throw invalid(`private_key: ${(e as Error).message}`);
  }
  if (key.privateKey === undefined) throw invalid('private_key must be a PKCS#8 PRIVATE KEY');
  // PKCS#8 holds the public half too (EC point, RSA modulus): a damaged private part would sign under the kid
  // while the registered public key refuses every assertion.
  if (!privateJwkMatchesPublic(key.privateKey.export({ format: 'jwk' }) as Jwk, key.privateKey))
    throw new KeyfileInvalidError(
      'the service-account private_key is damaged: it does not derive its own public key; restore it from a backup',
    );
  return fromKey(key, {
    clientId,
    clientEmail: typeof o.client_email === 'string' ? o.client_email : undefined,
    tokenUri,
  });
}

/**
 * Writes the account file with mode 0600 (temp file + rename, never a moment with looser permissions).
 * An existing file is kept unless `overwrite`: a service-account key is not something to lose by accident.
 */
export function writeServiceAccountFile(
  path: string,
  sa: ServiceAccount,
  opts: { overwrite?: boolean } = {},
): void {
  const text = `${JSON.stringify(serviceAccountToJson(sa), null, 2)}\n`;
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    if (opts.overwrite) renameSync(tmp, path);
    else {
      try {
        // link() fails atomically when the target exists, where rename() would replace it.
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new InvalidArgumentError(`${path} exists; pass overwrite to replace it`);
        throw e;
      }
      unlinkSync(tmp);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or removed
    }
    throw e;
  }
}

/**
 * Reads an account file (at most 64 KiB). It always holds a private key, so a group/world-accessible file
 * is refused with ERR_KEYFILE_PERMISSIONS unless `force`, exactly like an offtoken key file.
 */
export function readServiceAccountFile(path: string, opts: { force?: boolean } = {}): ServiceAccount {
  const text = readPrivateFileSync(path, {
    ...(opts.force !== undefined ? { force: opts.force } : {}),
    maxBytes: MAX_SERVICE_ACCOUNT_FILE,
    // Private unless it parses without a private_key: such a file is refused below and nothing of it is used,
    // so a public JWKS (mode 0644) given by mistake is named as such, not as a permissions problem.
    isPrivate: (t) => {
      try {
        const d = JSON.parse(t) as unknown;
        return typeof d !== 'object' || d === null || 'private_key' in d;
      } catch {
        return true;
      }
    },
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('the service-account file is not JSON');
  }
  return parseServiceAccount(doc);
}

/** The account's public key as a JWKS (kid = private_key_id), e.g. to register it with a peer. */
export function serviceAccountJwks(sa: ServiceAccount): Jwks {
  const jwk = exportJwk({
    kid: sa.keyId,
    alg: sa.alg,
    use: 'sig',
    kty: sa.alg === 'EdDSA' ? 'OKP' : sa.alg === 'RS256' ? 'RSA' : 'EC',
    publicKey: sa.publicKey,
  });
  return { keys: [jwk] };
}
