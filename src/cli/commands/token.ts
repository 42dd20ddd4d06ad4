import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { AuditLog } from '../../audit/index.js';
import type { JwsHeader } from '../../jose/types.js';
import { importJwk, type Jwk, Keyring, LocalJwks } from '../../keys/index.js';
import type { OfftokenKey } from '../../keys/types.js';
import {
  type GenerateOptions,
  type JsonValue,
  type OfflineMode,
  OfflineTokenGenerator,
  type OfflineTokenGeneratorOptions,
} from '../../offline/index.js';
import { openStore } from '../../stores/index.js';
import {
  action,
  argOrStdin,
  intOption,
  parseJsonOption,
  print,
  readJsonFile,
  readJwksFile,
  readKeyFileOption,
  requireOutputPath,
  requirePersistentStore,
  UsageError,
} from '../io.js';

/**
 * Key files may be passphrase-encrypted; the passphrase comes from the environment, never from argv. The key
 * file reader bounds the read and checks permissions; a missing file is a usage error naming `flag`.
 */
export async function loadKey(path: string, flag = '--key'): Promise<OfftokenKey> {
  return readKeyFileOption(path, flag, process.env.OFFTOKEN_KEY_PASSPHRASE || undefined);
}

/** A checkpoint verifier from `--jwks FILE` (public keys by kid) or `--key FILE` (one Ed25519 key). */
export async function loadVerifyKey(o: {
  jwks?: string;
  key?: string;
}): Promise<KeyObject | ((h: JwsHeader) => KeyObject)> {
  if (o.jwks !== undefined && o.key !== undefined) throw new UsageError('give --jwks or --key, not both');
  if (o.jwks !== undefined) {
    const jwks = new LocalJwks(readJwksFile(o.jwks, '--jwks') as never);
    return (h: JwsHeader) => jwks.resolve(h);
  }
  if (o.key !== undefined) {
    const k = await loadKey(o.key);
    if (!k.publicKey) throw new UsageError('--key must be an Ed25519 key file');
    return k.publicKey;
  }
  throw new UsageError('give --jwks FILE or --key FILE to check checkpoint signatures');
}

export function parseMode(text: string | undefined): OfflineMode | undefined {
  if (text === undefined) return undefined;
  if (text !== 'sealed' && text !== 'signed' && text !== 'mac' && text !== 'nested')
    throw new UsageError('--mode is sealed, signed, mac or nested');
  return text;
}

/** A public ECDH-ES key from a JWK (a reader's public key, never its private one). */
export function recipientFromJwk(jwk: unknown, where: string): OfftokenKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new UsageError(`${where} is not a JWK`);
  return importJwk(jwk as Jwk, { alg: 'ECDH-ES', public: true });
}

/**
 * The reader a nested token is encrypted to (`--to FILE`): its public JWK, or a JWKS with the key chosen by
 * `--to-kid` (or its only key).
 */
export function loadRecipient(file: string, kid: string | undefined): OfftokenKey {
  const doc = readJsonFile(file, '--to') as { keys?: unknown; kty?: unknown };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError('--to must hold a public JWK or a JWKS');
  if (!('keys' in doc)) {
    const k = recipientFromJwk(doc, '--to');
    if (kid !== undefined && k.kid !== kid) throw new UsageError(`--to: the JWK's kid is not ${kid}`);
    return k;
  }
  if (!Array.isArray(doc.keys) || doc.keys.length === 0 || doc.keys.length > 100)
    throw new UsageError('--to must be a JWKS with 1 to 100 keys');
  const found =
    kid !== undefined
      ? doc.keys.filter((j) => (j as Jwk)?.kid === kid)
      : doc.keys.length === 1
        ? doc.keys
        : undefined;
  if (found === undefined) throw new UsageError('--to holds several keys: choose one with --to-kid');
  if (found.length !== 1)
    throw new UsageError(`--to: ${found.length === 0 ? 'no key has' : 'several keys have'} kid ${kid}`);
  return recipientFromJwk(found[0], '--to');
}

/** Opens `--audit FILE` (checkpoints signed with `--audit-key FILE` when given). */
export async function openAudit(
  file: string | undefined,
  keyFile: string | undefined,
): Promise<AuditLog | undefined> {
  if (file === undefined) {
    if (keyFile !== undefined) throw new UsageError('--audit-key needs --audit');
    return undefined;
  }
  requireOutputPath(file, '--audit');
  const signingKey = keyFile !== undefined ? await loadKey(keyFile, '--audit-key') : undefined;
  return AuditLog.open(file, signingKey ? { signingKey } : {});
}

/**
 * The reader's key: `--key FILE` (a key file; a public Ed25519 file is enough for signed tokens) or
 * `--jwks FILE` (the public keys `offtoken keys jwks` prints, selected by the token's kid: rotation). A nested
 * reader gives both: `--key` its own ECDH-ES key, `--jwks` the issuer's public keys.
 */
export async function readerKey(o: {
  key?: string;
  jwks?: string;
  mode?: string;
}): Promise<Pick<OfflineTokenGeneratorOptions, 'key' | 'keyring' | 'mode' | 'decryptionKey'>> {
  const mode = parseMode(o.mode);
  const own = o.key !== undefined ? await loadKey(o.key) : undefined;
  if (own?.alg === 'ECDH-ES' || mode === 'nested') {
    if (own?.alg !== 'ECDH-ES' || o.jwks === undefined)
      throw new UsageError(
        "nested tokens are read with --key (this reader's ECDH-ES key) and --jwks (the issuer's public keys)",
      );
    return { decryptionKey: own, keyring: issuerKeyring(o.jwks), mode: 'nested' };
  }
  if ((o.key === undefined) === (o.jwks === undefined))
    throw new UsageError('give --key FILE or --jwks FILE');
  if (own !== undefined) return { key: own, ...(mode && { mode }) };
  return { keyring: issuerKeyring(o.jwks!), mode: mode ?? 'signed' };
}

function issuerKeyring(file: string): Keyring {
  const doc = readJwksFile(file, '--jwks') as { keys?: unknown };
  if (!Array.isArray(doc?.keys) || doc.keys.length === 0 || doc.keys.length > 100)
    throw new UsageError('--jwks must be a JWKS with 1 to 100 keys');
  const keys = doc.keys.map((j) => importJwk(j as never, { public: true }));
  return new Keyring({ verifyOnly: keys });
}

const OPTION_CLAIMS = ['sub', 'device', 'act', 'params', 'aud', 'ctr', 'nbf'] as const;
// Always set by the generator: a caller's value would be silently shadowed, so it is refused instead.
const GENERATED_CLAIMS = ['jti', 'iat', 'exp'] as const;

/** `--claims` JSON: sub/device/act/params/aud/ctr/nbf become token claims, everything else the payload. */
export function splitClaims(claims: unknown): { payload: JsonValue | undefined; options: GenerateOptions } {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new UsageError('--claims must be a JSON object');
  const options: Record<string, unknown> = {};
  const payload: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(claims as Record<string, JsonValue>)) {
    if ((GENERATED_CLAIMS as readonly string[]).includes(k))
      throw new UsageError(`--claims: ${k} is always generated (set the lifetime with --ttl)`);
    if ((OPTION_CLAIMS as readonly string[]).includes(k)) options[k] = v;
    else if (k === 'data')
      Object.assign(payload, typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { data: v });
    else payload[k] = v;
  }
  return {
    payload: Object.keys(payload).length > 0 ? payload : undefined,
    options: options as GenerateOptions,
  };
}

export function register(program: Command): void {
  const token = program
    .command('token')
    .description(
      'Offline tokens: sealed (JWE), signed (JWS EdDSA), mac (JWS HS256) or nested (signed, then encrypted to a reader)',
    );

  token
    .command('generate')
    .description('Create an offline token and print it')
    .requiredOption(
      '--key <file>',
      'key file: A128/192/256GCM (sealed), Ed25519 (signed), HS256 (mac), Ed25519 or ES256 (nested: the issuer)',
    )
    .option('--mode <mode>', 'sealed | signed | mac | nested (default: from the key; nested with --to)')
    .option('--to <file>', "nested: the reader's public ECDH-ES key, a JWK or a JWKS (offtoken keys jwks)")
    .option('--to-kid <kid>', 'nested: the key of the --to JWKS to encrypt to')
    .option(
      '--claims <json>',
      'JSON object: sub, device, act, params, aud, ctr, nbf; other keys are the payload',
      '{}',
    )
    .option('--ttl <seconds>', 'lifetime in seconds', '300')
    .option('--audit <file>', 'append the issuance to this audit log')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .action(
      action(
        async (o: {
          key: string;
          mode?: string;
          to?: string;
          toKid?: string;
          claims: string;
          ttl: string;
          audit?: string;
          auditKey?: string;
        }) => {
          const { payload, options } = splitClaims(parseJsonOption(o.claims, '--claims'));
          const ttlSeconds = intOption(o.ttl, '--ttl', 1, 10 * 365 * 86400);
          if (o.toKid !== undefined && o.to === undefined) throw new UsageError('--to-kid needs --to');
          const asked = parseMode(o.mode);
          if (asked === 'nested' && o.to === undefined)
            throw new UsageError("a nested token needs --to: the reader's public ECDH-ES key");
          if (asked !== undefined && asked !== 'nested' && o.to !== undefined)
            throw new UsageError('--to is for nested tokens');
          const recipient = o.to !== undefined ? loadRecipient(o.to, o.toKid) : undefined;
          const key = await loadKey(o.key);
          const audit = await openAudit(o.audit, o.auditKey);
          try {
            const mode = parseMode(o.mode);
            audit?.record('key.use', { kid: key.kid, alg: key.alg, purpose: 'token.generate' });
            const gen = new OfflineTokenGenerator({
              key,
              ...(mode && { mode }),
              ...(recipient && { recipient }),
              ttlSeconds,
              ...(audit && { audit }),
            });
            print(gen.generate(payload, options));
          } finally {
            audit?.close();
          }
        },
      ),
    );

  token
    .command('read')
    .description('Verify (or decrypt) a token and print its claims; exit 1 with the error code on rejection')
    .option(
      '--key <file>',
      "key file (a public Ed25519 key is enough for signed tokens; nested: this reader's ECDH-ES key)",
    )
    .option(
      '--jwks <file>',
      "public keys by kid (offtoken keys jwks): instead of --key for signed tokens; nested: the issuer's, with --key",
    )
    .option('--mode <mode>', 'sealed | signed | mac | nested (default: from the key)')
    .option(
      '--consume <url>',
      'accept the token once: sqlite:PATH or redis://HOST:PORT[/db] (memory: is refused: it forgets on exit)',
    )
    .option('--audience <aud>', "this reader's audience (required when the token names one)")
    .option('--tolerance <seconds>', 'clock skew tolerance', '0')
    .option('--audit <file>', 'append the validation result to this audit log')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .argument('[token]', 'the token, or - for stdin')
    .action(
      action(
        async (
          tokenArg: string | undefined,
          o: {
            key?: string;
            jwks?: string;
            mode?: string;
            consume?: string;
            audience?: string;
            tolerance: string;
            audit?: string;
            auditKey?: string;
          },
        ) => {
          if (o.consume !== undefined) requirePersistentStore(o.consume, '--consume');
          const text = await argOrStdin(tokenArg);
          const ttlTolerance = intOption(o.tolerance, '--tolerance', 0, 86400);
          const reader = await readerKey(o);
          const audit = await openAudit(o.audit, o.auditKey);
          const store = o.consume !== undefined ? await openStore(o.consume) : undefined;
          try {
            const gen = new OfflineTokenGenerator({
              ...reader,
              ttlTolerance,
              ...(o.audience !== undefined && { audience: o.audience }),
              ...(audit && { audit }),
            });
            const r = await gen.verifyAndConsume(text, store ? { consume: store } : {});
            print({ payload: r.payload ?? null, claims: r.claims, mode: r.mode, kid: r.kid ?? null });
          } finally {
            await store?.close();
            audit?.close();
          }
        },
      ),
    );
}
