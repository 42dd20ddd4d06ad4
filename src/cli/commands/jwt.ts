import { createSecretKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { decodeBase64url } from '../../encoding/base64url.js';
import { JoseKeyMismatchError } from '../../errors/jose.js';
import { signJwt } from '../../jose/jwt/sign.js';
import { decodeJwtUnverified, verifyJwt } from '../../jose/jwt/verify.js';
import { ALGS } from '../../jose/lib/alg.js';
import type { JwsAlg, JwsHeader, JwtPolicy, KeyResolver } from '../../jose/types.js';
import { LocalJwks } from '../../keys/index.js';
import { action, argOrStdin, intOption, parseJsonOption, print, readJwksFile, UsageError } from '../io.js';
import { loadKeyFile } from './keys.js';

const JWS_ALGS = Object.keys(ALGS) as JwsAlg[];
const MAX_TTL = 10 * 365 * 86400;
const DEFAULT_TTL = 3600;

interface SignOptions {
  key: string;
  claims: string;
  ttl?: string;
  typ?: string;
  kid?: string;
  jti?: boolean;
  passphraseEnv?: string;
  json?: boolean;
}

function sign(o: SignOptions): void {
  const claims = parseJsonOption(o.claims, '--claims');
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new UsageError('--claims must be a JSON object');
  const c = claims as Record<string, unknown>;
  const key = loadKeyFile(o.key, o.passphraseEnv);
  if (!(JWS_ALGS as string[]).includes(key.alg))
    throw new JoseKeyMismatchError(`the key is for ${key.alg}, not a JWS algorithm`);
  const signing = key.privateKey ?? key.secretKey;
  if (signing === undefined)
    throw new JoseKeyMismatchError('the key file holds only a public key; signing needs the private key');
  // A token without exp is valid forever: default to one hour unless the claims already carry exp.
  const ttl =
    o.ttl !== undefined
      ? intOption(o.ttl, '--ttl', 1, MAX_TTL)
      : c.exp === undefined
        ? DEFAULT_TTL
        : undefined;
  if (o.typ !== undefined && (o.typ.length === 0 || o.typ.length > 64))
    throw new UsageError('--typ must be 1 to 64 characters');
  const token = signJwt(c, signing, {
    alg: key.alg as JwsAlg,
    kid: o.kid ?? key.kid,
    ...(o.typ !== undefined ? { typ: o.typ } : {}),
    ...(ttl !== undefined ? { expiresIn: ttl } : {}),
    ...(o.jti ? { jti: true } : {}),
  });
  if (!o.json) {
    print(token);
    return;
  }
  const d = decodeJwtUnverified(token);
  print({ token, header: d.header, payload: d.payload }, true);
}

async function inspect(tokenArg: string | undefined, o: { json?: boolean }): Promise<void> {
  const token = await argOrStdin(tokenArg);
  const { header, payload } = decodeJwtUnverified(token);
  const out = {
    verified: false,
    note: 'decoded WITHOUT verifying the signature or any claim: do not trust these values',
    header,
    payload,
  };
  print(out, o.json);
}

interface VerifyOptions {
  jwks?: string;
  secret?: string;
  key?: string;
  alg: string;
  iss?: string[];
  aud?: string[];
  sub?: string;
  typ?: string;
  requireExp?: boolean;
  clockTolerance?: string;
  maxAge?: string;
  now?: string;
  passphraseEnv?: string;
  json?: boolean;
}

function parseAlgs(text: string): JwsAlg[] {
  const list = text.split(',').map((a) => a.trim());
  for (const a of list) {
    if (a.toLowerCase() === 'none') throw new UsageError('alg none is never accepted');
    if (!(JWS_ALGS as string[]).includes(a))
      throw new UsageError(`--alg: ${a} is not one of ${JWS_ALGS.join(', ')}`);
  }
  return list as JwsAlg[];
}

/** The verification key: a JWKS file (by kid/alg), a base64url secret, or an offtoken key file. */
function verificationKey(o: VerifyOptions): KeyObject | KeyResolver {
  const given = [o.jwks, o.secret, o.key].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --jwks FILE, --secret BASE64URL, --key FILE');
  if (o.jwks !== undefined) {
    const set = new LocalJwks(readJwksFile(o.jwks, '--jwks') as never);
    return (h: JwsHeader) => set.resolve(h);
  }
  if (o.secret !== undefined) {
    const bytes = decodeBase64url(o.secret.trim(), '--secret');
    if (bytes.length === 0) throw new UsageError('--secret is empty');
    return createSecretKey(bytes);
  }
  const k = loadKeyFile(o.key as string, o.passphraseEnv);
  const v = k.publicKey ?? k.secretKey;
  if (v === undefined) throw new UsageError('--key holds no usable key');
  return v;
}

async function verify(tokenArg: string | undefined, o: VerifyOptions): Promise<void> {
  const algorithms = parseAlgs(o.alg);
  const key = verificationKey(o);
  const policy: JwtPolicy = { algorithms };
  const oneOrMany = (v: string[]) => (v.length === 1 ? (v[0] as string) : v);
  if (o.iss !== undefined) policy.issuer = oneOrMany(o.iss);
  if (o.aud !== undefined) policy.audience = oneOrMany(o.aud);
  if (o.sub !== undefined) policy.subject = o.sub;
  if (o.typ !== undefined) policy.typ = o.typ;
  if (o.requireExp) policy.requireExp = true;
  if (o.clockTolerance !== undefined)
    policy.clockTolerance = intOption(o.clockTolerance, '--clock-tolerance', 0, 86400);
  if (o.maxAge !== undefined) policy.maxTokenAge = intOption(o.maxAge, '--max-age', 0, MAX_TTL);
  if (o.now !== undefined) policy.now = intOption(o.now, '--now', 0, 253402300799);
  const token = await argOrStdin(tokenArg);
  const { payload } = verifyJwt(token, key, policy);
  print(payload, o.json);
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function register(program: Command): void {
  const jwt = program.command('jwt').description('Sign, inspect and verify JWTs offline');

  jwt
    .command('sign')
    .description('Sign a claims set with a key file; prints the compact JWT')
    .requiredOption('--key <file>', 'private or secret key file (from `offtoken keys generate`)')
    .requiredOption('--claims <json>', 'claims as a JSON object, e.g. \'{"sub":"alice","aud":"api"}\'')
    .option('--ttl <sec>', 'lifetime: exp = iat + SEC (default 3600 unless --claims has exp)')
    .option('--typ <typ>', 'typ header (default JWT)')
    .option('--kid <kid>', "kid header (default: the key's kid)")
    .option('--jti', 'add a fresh 128-bit jti')
    .option(
      '--passphrase-env <var>',
      'passphrase of an encrypted key file (default: $OFFTOKEN_KEY_PASSPHRASE)',
    )
    .option('--json', 'print {token, header, payload}')
    .action(action(sign));

  jwt
    .command('inspect')
    .description('Decode a JWT WITHOUT verifying it (for display only; the output says so)')
    .argument('[token]', 'the token (stdin when - or absent)')
    .option('--json', 'JSON output on one line')
    .action(action(inspect));

  jwt
    .command('verify')
    .description(
      'Verify a JWT offline against a strict policy; prints the payload JSON, or exits 1 with the error code',
    )
    .argument('[token]', 'the token (stdin when - or absent)')
    .option('--jwks <file>', 'JWKS file with the verification key(s), chosen by kid/alg')
    .option('--secret <base64url>', 'HMAC secret, base64url')
    .option('--key <file>', 'offtoken key file (its public or secret key)')
    .requiredOption('--alg <algs>', 'allowed algorithms, comma separated, e.g. EdDSA or ES256,RS256')
    .option('--iss <issuer>', 'required issuer (repeat for several)', collect)
    .option('--aud <audience>', 'required audience (repeat for several)', collect)
    .option('--sub <subject>', 'required subject')
    .option('--typ <typ>', 'required typ header (e.g. JWT, at+jwt)')
    .option('--require-exp', 'reject tokens without exp')
    .option('--clock-tolerance <sec>', 'leeway for exp/nbf/iat in seconds (default 0)')
    .option('--max-age <sec>', 'reject tokens whose iat is older than this')
    .option('--now <unixsec>', 'verify as of this time (default: the system clock)')
    .option(
      '--passphrase-env <var>',
      'passphrase of an encrypted --key file (default: $OFFTOKEN_KEY_PASSPHRASE)',
    )
    .option('--json', 'payload on one line')
    .action(action(verify));
}
