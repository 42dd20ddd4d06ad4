import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, ok, rejected, tempDir } from '../cli/helpers.js';

const dir = tempDir();
const f = (name: string) => join(dir, name);

function keygen(out: string, ...args: string[]): { kid: string; kty: string; use: string } {
  return JSON.parse(ok(cli(['keys', 'generate', '--out', f(out), '--json', ...args])));
}

const issuer = keygen('issuer.key', '--alg', 'EdDSA');
const esIssuer = keygen('es-issuer.key', '--alg', 'ES256');
const dev1 = keygen('dev1.key', '--alg', 'ECDH-ES');
const dev2 = keygen('dev2.key', '--alg', 'ECDH-ES', '--crv', 'P-256');
writeFileSync(f('issuer.jwks'), ok(cli(['keys', 'jwks', f('issuer.key'), f('es-issuer.key')])));
writeFileSync(f('dev1.jwks'), ok(cli(['keys', 'jwks', f('dev1.key')])));
writeFileSync(f('both.jwks'), ok(cli(['keys', 'jwks', f('dev1.key'), f('dev2.key')])));

const readAs = (device: string, token: string, ...extra: string[]) =>
  cli(['token', 'read', '--key', f(device), '--jwks', f('issuer.jwks'), ...extra, '-'], { input: token });

describe('offtoken keys generate --alg ECDH-ES', () => {
  it('makes X25519 by default and P-256 with --crv; keys jwks publishes the public key for encryption', () => {
    assert.deepEqual([dev1.kty, dev1.use], ['OKP', 'enc']);
    assert.deepEqual([dev2.kty, dev2.use], ['EC', 'enc']);
    const jwks = JSON.parse(readFileSync(f('both.jwks'), 'utf8')) as { keys: Record<string, string>[] };
    assert.deepEqual(
      jwks.keys.map((k) => [k.kid, k.alg, k.use, k.crv, 'd' in k]),
      [
        [dev1.kid, 'ECDH-ES', 'enc', 'X25519', false],
        [dev2.kid, 'ECDH-ES', 'enc', 'P-256', false],
      ],
    );
  });

  it('refuses --crv for other algs and curves it does not know: ERR_USAGE', () => {
    rejected(
      cli(['keys', 'generate', '--alg', 'EdDSA', '--crv', 'X25519', '--out', f('x.key')]),
      'ERR_USAGE',
      2,
    );
    rejected(
      cli(['keys', 'generate', '--alg', 'ECDH-ES', '--crv', 'X448', '--out', f('x.key')]),
      'ERR_USAGE',
      2,
    );
  });
});

describe('offtoken token generate --mode nested / token read', () => {
  it('the device it was minted for reads it; another device is refused with ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
    const token = ok(
      cli([
        'token',
        'generate',
        '--mode',
        'nested',
        '--key',
        f('issuer.key'),
        '--to',
        f('dev1.jwks'),
        '--claims',
        '{"sub":"alice","door":"B12"}',
      ]),
    ).trim();
    const out = JSON.parse(ok(readAs('dev1.key', token)));
    assert.deepEqual([out.mode, out.kid, out.payload], ['nested', issuer.kid, { door: 'B12' }]);
    rejected(readAs('dev2.key', token), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
    // replay control as in the other modes
    const db = `sqlite:${f('replay.db')}`;
    ok(readAs('dev1.key', token, '--consume', db));
    rejected(readAs('dev1.key', token, '--consume', db), 'ERR_OFFLINE_TOKEN_REPLAYED');
  });

  it('--to takes a single JWK, or a JWKS with --to-kid; an ES256 issuer works too', () => {
    const jwks = JSON.parse(readFileSync(f('both.jwks'), 'utf8')) as { keys: unknown[] };
    writeFileSync(f('dev2.jwk'), JSON.stringify(jwks.keys[1]));
    const gen = (...to: string[]) =>
      cli([
        'token',
        'generate',
        '--mode',
        'nested',
        '--key',
        f('es-issuer.key'),
        ...to,
        '--claims',
        '{"x":1}',
      ]);
    const t1 = ok(gen('--to', f('dev2.jwk'))).trim();
    assert.equal(JSON.parse(ok(readAs('dev2.key', t1))).kid, esIssuer.kid);
    const t2 = ok(gen('--to', f('both.jwks'), '--to-kid', dev1.kid)).trim();
    assert.deepEqual(JSON.parse(ok(readAs('dev1.key', t2))).payload, { x: 1 });
    rejected(gen('--to', f('both.jwks')), 'ERR_USAGE', 2);
    rejected(gen('--to', f('both.jwks'), '--to-kid', 'nope'), 'ERR_USAGE', 2);
  });

  it("refuses a reader's private key as --to, and a signing key: the issuer holds public keys only", () => {
    const priv = JSON.parse(readFileSync(f('dev1.key'), 'utf8')).jwk;
    writeFileSync(f('dev1-private.jwk'), JSON.stringify(priv));
    const base = ['token', 'generate', '--mode', 'nested', '--key', f('issuer.key'), '--to'];
    rejected(cli([...base, f('dev1-private.jwk')]), 'ERR_KEY_INVALID');
    writeFileSync(
      f('issuer-pub.jwk'),
      JSON.stringify(JSON.parse(readFileSync(f('issuer.jwks'), 'utf8')).keys[0]),
    );
    rejected(cli([...base, f('issuer-pub.jwk')]), 'ERR_KEY_ALG_MISMATCH');
  });

  it('usage errors exit 2 with ERR_USAGE', () => {
    rejected(cli(['token', 'generate', '--mode', 'nested', '--key', f('issuer.key')]), 'ERR_USAGE', 2);
    rejected(
      cli(['token', 'generate', '--mode', 'signed', '--key', f('issuer.key'), '--to', f('dev1.jwks')]),
      'ERR_USAGE',
      2,
    );
    rejected(cli(['token', 'read', '--key', f('dev1.key'), 'x.y']), 'ERR_USAGE', 2);
  });
});

describe('offtoken provision batch --devices (nested)', () => {
  it('mints one token per device, each readable only by its device', () => {
    const jwks = JSON.parse(readFileSync(f('both.jwks'), 'utf8')) as { keys: unknown[] };
    writeFileSync(
      f('devices.jsonl'),
      `# serial, public key\n${JSON.stringify({ serial: 'SN-1', jwk: jwks.keys[0] })}\n${JSON.stringify({ serial: 'SN-2', jwk: jwks.keys[1] })}\n`,
    );
    const summary = JSON.parse(
      ok(
        cli([
          'provision',
          'batch',
          '--key',
          f('issuer.key'),
          '--devices',
          f('devices.jsonl'),
          '--out',
          f('batch.jsonl'),
        ]),
      ),
    );
    assert.deepEqual([summary.issued, summary.mode], [2, 'nested']);
    const recs = readFileSync(f('batch.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { serial: string; token: string });
    const check = (device: string, token: string) =>
      cli([
        'provision',
        'check',
        '--key',
        f(device),
        '--jwks',
        f('issuer.jwks'),
        '--consume',
        `sqlite:${f('gateway.db')}`,
        token,
      ]);
    assert.equal(JSON.parse(ok(check('dev1.key', recs[0]!.token))).serial, 'SN-1');
    assert.equal(JSON.parse(ok(check('dev2.key', recs[1]!.token))).serial, 'SN-2');
    rejected(check('dev2.key', recs[0]!.token), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
    rejected(check('dev1.key', recs[0]!.token), 'ERR_OFFLINE_TOKEN_REPLAYED');
  });

  it('refuses a devices file with a duplicate serial or a private key, naming the line', () => {
    const priv = JSON.parse(readFileSync(f('dev1.key'), 'utf8')).jwk;
    const pub = JSON.parse(readFileSync(f('dev1.jwks'), 'utf8')).keys[0];
    for (const [name, body] of [
      [
        'dup.jsonl',
        `${JSON.stringify({ serial: 'A', jwk: pub })}\n${JSON.stringify({ serial: 'A', jwk: pub })}\n`,
      ],
      ['priv.jsonl', `${JSON.stringify({ serial: 'A', jwk: priv })}\n`],
    ] as const) {
      writeFileSync(f(name), body);
      const r = cli([
        'provision',
        'batch',
        '--key',
        f('issuer.key'),
        '--devices',
        f(name),
        '--out',
        f(`${name}.out`),
      ]);
      rejected(r, 'ERR_INVALID_ARGUMENT');
      assert.match(r.stderr, /line [12]/);
    }
    rejected(
      cli([
        'provision',
        'batch',
        '--key',
        f('issuer.key'),
        '--mode',
        'signed',
        '--devices',
        f('dup.jsonl'),
        '--out',
        f('z'),
      ]),
      'ERR_USAGE',
      2,
    );
  });
});
