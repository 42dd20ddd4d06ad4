import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KeyInvalidError } from '../../errors/keys.js';
import {
  type AgreementCurve,
  buildJwks,
  exportJwk,
  generateKey,
  type Jwk,
  type Jwks,
  type KeyAlg,
  type OfftokenKey,
  thumbprint,
  writeKeyFileSync,
} from '../../keys/index.js';
import { loadConfig } from '../../server/config.js';
import { AuthorityKeyring } from '../../server/keyring.js';
import type { AuthorityAlg } from '../../status-list/jws.js';
import {
  action,
  configOption,
  dataDirOption,
  intOption,
  print,
  readKeyFileOption,
  requireOutputPath,
  UsageError,
} from '../io.js';

/** Every algorithm `keys generate` makes a key for: JWS algorithms, and A*GCM for sealed offline tokens. */
export const GENERATE_ALGS: readonly KeyAlg[] = [
  'EdDSA',
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'HS256',
  'HS384',
  'HS512',
  'A128GCM',
  'A192GCM',
  'A256GCM',
  'ECDH-ES',
];

/** Curves of an ECDH-ES key (`--crv`): the reader keys of nested offline tokens. */
const AGREEMENT_CURVES: readonly AgreementCurve[] = ['X25519', 'P-256'];

const AUTHORITY_ALGS: readonly AuthorityAlg[] = ['EdDSA', 'ES256'];

// RFC 7517/7518 private members: never printed by `keys jwks`, whatever a key file holds.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * The passphrase for an encrypted key file, from the environment variable named by `--passphrase-env` (never
 * from argv, which other users can read in the process list). Without the flag, OFFTOKEN_KEY_PASSPHRASE is
 * used when set, as the other commands do.
 */
export function passphraseFrom(envName: string | undefined): string | undefined {
  if (envName === undefined) return process.env.OFFTOKEN_KEY_PASSPHRASE || undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName))
    throw new UsageError('--passphrase-env takes the name of an environment variable');
  const value = process.env[envName];
  if (value === undefined || value === '')
    throw new UsageError(`--passphrase-env: the environment variable ${envName} is not set`);
  return value;
}

/** Reads an offtoken key file (decrypting it with the passphrase when it is encrypted). */
export function loadKeyFile(file: string, passphraseEnv?: string, flag = '--key'): OfftokenKey {
  return readKeyFileOption(file, flag, passphraseFrom(passphraseEnv));
}

/** A public JWK without any private member, even if a caller passed a private export by mistake. */
function publicOnly(jwk: Jwk): Jwk {
  const out: Jwk = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete out[m];
  return out;
}

function parseAlg(text: string): KeyAlg {
  if (!(GENERATE_ALGS as readonly string[]).includes(text))
    throw new UsageError(`--alg must be one of ${GENERATE_ALGS.join(', ')}`);
  return text as KeyAlg;
}

interface GenerateOptions {
  alg: string;
  out: string;
  passphraseEnv?: string;
  kid?: string;
  bits?: string;
  crv?: string;
  force?: boolean;
  json?: boolean;
}

function generate(o: GenerateOptions): void {
  const alg = parseAlg(o.alg);
  // Resolve the passphrase before the (possibly slow) key generation, so a typo fails at once.
  const passphrase = o.passphraseEnv !== undefined ? passphraseFrom(o.passphraseEnv) : undefined;
  requireOutputPath(o.out, '--out');
  if (existsSync(o.out) && !o.force)
    throw new UsageError(`--out ${o.out} exists; pass --force to replace it`);
  const opts: { kid?: string; modulusLength?: number; crv?: AgreementCurve } = {};
  if (o.crv !== undefined) {
    if (alg !== 'ECDH-ES') throw new UsageError('--crv is for ECDH-ES keys only');
    if (!(AGREEMENT_CURVES as readonly string[]).includes(o.crv))
      throw new UsageError(`--crv must be ${AGREEMENT_CURVES.join(' or ')}`);
    opts.crv = o.crv as AgreementCurve;
  }
  if (o.kid !== undefined) {
    if (o.kid.length === 0 || o.kid.length > 256) throw new UsageError('--kid must be 1 to 256 characters');
    opts.kid = o.kid;
  }
  if (o.bits !== undefined) {
    if (!alg.startsWith('RS') && !alg.startsWith('PS')) throw new UsageError('--bits is for RSA keys only');
    opts.modulusLength = intOption(o.bits, '--bits', 2048, 8192);
  }
  const key = generateKey(alg, opts);
  writeKeyFileSync(o.out, key, passphrase !== undefined ? { passphrase } : {});
  const info = {
    kid: key.kid,
    alg: key.alg,
    kty: key.kty,
    use: key.use,
    file: o.out,
    encrypted: passphrase !== undefined,
  };
  print(
    o.json
      ? info
      : `${key.alg} key ${key.kid} written to ${o.out} (mode 0600${passphrase !== undefined ? ', encrypted' : ''})`,
    o.json,
  );
}

function jwks(files: string[], o: { passphraseEnv?: string }): void {
  const keys = files.map((f) => loadKeyFile(f, o.passphraseEnv, 'key file'));
  const set: Jwks = { keys: buildJwks(keys).keys.map(publicOnly) };
  if (set.keys.length === 0)
    throw new KeyInvalidError('none of the files holds a public key (secret keys are never published)');
  print(set, true);
}

function thumbprintCmd(file: string, o: { passphraseEnv?: string; json?: boolean }): void {
  const key = loadKeyFile(file, o.passphraseEnv, 'key file');
  // The thumbprint of a secret key is a hash of the secret: it must not be published as an identifier.
  if (key.kty === 'oct')
    throw new KeyInvalidError('a secret (oct) key has no public thumbprint; its kid is random instead');
  const tp = thumbprint(exportJwk(key));
  print(o.json ? { thumbprint: tp, kid: key.kid, alg: key.alg, kty: key.kty } : tp, o.json);
}

interface RotateOptions {
  config?: string;
  dataDir?: string;
  alg?: string;
  retireAfter?: string;
  json?: boolean;
}

/**
 * Rotates the authority keyring in the data directory exactly as the server does (src/server/keyring.ts):
 * a fresh active key, the previous one verify-only for `--retire-after` seconds (default, as the server:
 * max(accessTokenTtl, 1 day) + 60 s, so no token it signed stops verifying early).
 */
function rotate(o: RotateOptions): void {
  let alg: AuthorityAlg | undefined;
  if (o.alg !== undefined) {
    if (!(AUTHORITY_ALGS as readonly string[]).includes(o.alg))
      throw new UsageError(`the authority keyring holds ${AUTHORITY_ALGS.join(' or ')} keys; --alg ${o.alg}`);
    alg = o.alg as AuthorityAlg;
  }
  const cfg = loadConfig({
    ...configOption(o.config),
    overrides: dataDirOption(o.dataDir),
  });
  const overlap =
    o.retireAfter !== undefined
      ? intOption(o.retireAfter, '--retire-after', 0, 10 * 365 * 86400)
      : Math.max(cfg.accessTokenTtl, 86400) + 60;
  const ring = AuthorityKeyring.openExisting(path.join(cfg.dataDir, 'keyring.json'));
  const now = Math.floor(Date.now() / 1000);
  const kid = ring.rotate(now, overlap, alg);
  // read under the rotation's lock: another rotation may have run since the keyring was opened
  const previous = ring.retiredKeyId;
  const active = ring.jwks(now).keys.find((k) => k.kid === kid);
  print(
    o.json ? { kid, alg: active?.alg, previous, previous_verify_only_until: now + overlap } : `${kid}`,
    o.json,
  );
  if (!o.json)
    process.stderr.write(
      `active signing key ${kid}; ${previous} verifies until ${new Date((now + overlap) * 1000).toISOString()}\n`,
    );
}

export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('Generate key files, publish JWKS, compute thumbprints, rotate the authority keyring');

  keys
    .command('generate')
    .description(
      'Generate a key from the CSPRNG and write it as an offtoken key file (mode 0600; encrypted with --passphrase-env)',
    )
    .requiredOption(
      '--alg <alg>',
      `one of ${GENERATE_ALGS.join(', ')} (A*GCM: keys for sealed offline tokens; ECDH-ES: a reader's key for nested tokens)`,
    )
    .option('--crv <crv>', 'curve of an ECDH-ES key: X25519 (default) or P-256')
    .requiredOption('--out <file>', 'key file to write')
    .option(
      '--passphrase-env <var>',
      'encrypt the file (scrypt + AES-256-GCM) with the passphrase in this environment variable',
    )
    .option('--kid <kid>', 'key id (default: the RFC 7638 thumbprint; random for secret keys)')
    .option('--bits <n>', 'RSA modulus length (default 2048)')
    .option('--force', 'replace an existing file')
    .option('--json', 'JSON output')
    .action(action(generate));

  keys
    .command('jwks')
    .description('Print the public JWKS of key files (never a private member; secret keys are left out)')
    .argument('<file...>', 'key files')
    .option('--passphrase-env <var>', 'passphrase of encrypted key files (default: $OFFTOKEN_KEY_PASSPHRASE)')
    .action(action(jwks));

  keys
    .command('thumbprint')
    .description('Print the RFC 7638 SHA-256 thumbprint of a key file')
    .argument('<file>', 'key file')
    .option(
      '--passphrase-env <var>',
      'passphrase of an encrypted key file (default: $OFFTOKEN_KEY_PASSPHRASE)',
    )
    .option('--json', 'JSON output')
    .action(action(thumbprintCmd));

  keys
    .command('rotate')
    .description(
      "Rotate the authority's signing keyring (keyring.json in the data directory) as the server does; prints the new kid",
    )
    .option('--config <file>', 'server config file (for its dataDir and accessTokenTtl)')
    .option('--data-dir <dir>', 'authority data directory (default ./.offtoken; env OFFTOKEN_DATA_DIR)')
    .option('--alg <alg>', "algorithm of the new key: EdDSA or ES256 (default: the keyring's)")
    .option(
      '--retire-after <sec>',
      'seconds the previous key keeps verifying (default max(accessTokenTtl, 86400) + 60)',
    )
    .option('--json', 'JSON output')
    .action(action(rotate));
}
