import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { OfftokenError } from '../../errors/base.js';
import { signJwt } from '../../jose/jwt/sign.js';
import { verifyJwt } from '../../jose/jwt/verify.js';
import type { JwsAlg, JwtPolicy } from '../../jose/types.js';
import { buildJwks, generateKey, LocalJwks, readKeyFileSync, writeKeyFileSync } from '../../keys/index.js';
import { action, print, UsageError } from '../io.js';

const DEMO_ALGS: readonly JwsAlg[] = ['EdDSA', 'ES256', 'RS256', 'PS256', 'HS256'];

interface Step {
  step: string;
  ok: boolean;
  [detail: string]: unknown;
}

/** Expects `fn` to be rejected and returns the error code it was rejected with. */
function rejectionCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof OfftokenError) return e.code;
    throw e;
  }
  throw new Error('the demo expected a rejection that did not happen');
}

/**
 * A guided, offline demo: generate a key, write it as a key file (in a fresh temp directory, removed at the
 * end), sign a JWT, publish the public JWKS, verify the token with it, then show three rejections. Nothing is
 * written outside the temp directory and nothing touches the network.
 */
function demo(o: { alg: string; json?: boolean; keep?: boolean }): void {
  if (!(DEMO_ALGS as readonly string[]).includes(o.alg))
    throw new UsageError(`--alg must be one of ${DEMO_ALGS.join(', ')}`);
  const alg = o.alg as JwsAlg;
  const steps: Step[] = [];
  const say = (s: Step, text: string) => {
    steps.push(s);
    if (!o.json) process.stdout.write(`${steps.length}. ${text}\n`);
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'offtoken-demo-'));
  try {
    const key = generateKey(alg);
    say(
      { step: 'generate', ok: true, alg, kid: key.kid },
      `Generated a new ${alg} key from the CSPRNG; its kid is ${key.kid}${key.kty === 'oct' ? ' (random: a secret has no public thumbprint)' : ' (its RFC 7638 thumbprint)'}.`,
    );

    const file = path.join(dir, 'signing.key');
    writeKeyFileSync(file, key);
    const mode = (statSync(file).mode & 0o777).toString(8);
    say(
      { step: 'write key file', ok: true, file, mode },
      `Wrote the key file ${file} with mode ${mode} (owner only).`,
    );

    const loaded = readKeyFileSync(file);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'https://demo.offtoken.local', sub: 'alice', aud: 'demo-api', scope: 'read' };
    const token = signJwt(claims, (loaded.privateKey ?? loaded.secretKey)!, {
      alg,
      kid: loaded.kid,
      iat: now,
      expiresIn: 300,
    });
    say(
      { step: 'sign', ok: true, token },
      `Signed a JWT for sub=alice, aud=demo-api, valid 5 minutes:\n   ${token}`,
    );

    // The verifier holds only what a relying party would: the public JWKS (or, for HS256, the shared secret).
    const verifierKeys =
      key.kty === 'oct'
        ? new LocalJwks({ keys: [{ ...exportSecret(loaded), kid: loaded.kid, alg }] })
        : new LocalJwks(buildJwks([loaded]));
    const resolver = verifierKeys.resolve.bind(verifierKeys);
    const policy: JwtPolicy = {
      algorithms: [alg],
      issuer: claims.iss,
      audience: claims.aud,
      requireExp: true,
      now,
    };
    const verified = verifyJwt(token, resolver, policy);
    say(
      { step: 'verify offline', ok: true, payload: verified.payload },
      `Verified it offline with ${key.kty === 'oct' ? 'the shared secret' : 'the public JWKS only'} (alg allow-list, iss, aud, exp): ${JSON.stringify(verified.payload)}`,
    );

    const d2 = token.lastIndexOf('.');
    const d1 = token.indexOf('.');
    const forged = signJwt({ ...claims, scope: 'admin' }, (loaded.privateKey ?? loaded.secretKey)!, {
      alg,
      kid: loaded.kid,
      iat: now,
      expiresIn: 300,
    });
    const tampered = `${token.slice(0, d1)}${forged.slice(forged.indexOf('.'), forged.lastIndexOf('.'))}${token.slice(d2)}`;
    const tamperCode = rejectionCode(() => verifyJwt(tampered, resolver, policy));
    say(
      { step: 'reject tampered', ok: true, code: tamperCode },
      `A copy with scope changed to admin (old signature kept) is rejected: ${tamperCode}.`,
    );

    const expiredCode = rejectionCode(() => verifyJwt(token, resolver, { ...policy, now: now + 301 }));
    say(
      { step: 'reject expired', ok: true, code: expiredCode },
      `The same token 5 minutes and 1 second later is rejected: ${expiredCode}.`,
    );

    const other: JwsAlg = alg === 'HS256' ? 'EdDSA' : 'HS256';
    const algCode = rejectionCode(() => verifyJwt(token, resolver, { ...policy, algorithms: [other] }));
    say(
      { step: 'reject other alg', ok: true, code: algCode },
      `A verifier that only allows ${other} rejects it: ${algCode} (no algorithm confusion).`,
    );
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
  if (o.json) print(steps, true);
  else
    process.stdout.write(
      `\nDone. ${o.keep ? `The key file was kept in ${dir}.` : 'The temp directory was removed.'} Next: offtoken keys generate --alg EdDSA --out my.key\n`,
    );
}

function exportSecret(key: { secretKey?: KeyObject }): { kty: string; k: string } {
  return key.secretKey!.export({ format: 'jwk' }) as { kty: string; k: string };
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'A guided offline demo: generate a key, sign a token, verify it offline, and see three rejections',
    )
    .option('--alg <alg>', `signing algorithm: ${DEMO_ALGS.join(', ')}`, 'EdDSA')
    .option('--keep', 'keep the temp directory with the key file')
    .option('--json', 'print the steps as JSON')
    .action(action(demo));
}
