// The built bin as a user runs it (`node dist/cli/main.js`, package.json "bin"; scripts/test.mjs builds it), once
// per capability that has a command, on RFC vectors and on the pinned fixtures of test/fixtures/formats.
// Downscoping, attenuation and DPoP have no command: test/public/package.test.ts covers them through `offtoken`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bin, ok, rejected } from '../cli/helpers.js';

type Offtoken = typeof import('../../src/index.js');
const SPECIFIER = 'offtoken';
const ot = (await import(SPECIFIER)) as Offtoken;

const root = join(import.meta.dirname, '../..');
// biome-ignore lint/suspicious/noExplicitAny: JSON fixtures and vectors
const json = (p: string): any => JSON.parse(readFileSync(join(root, p), 'utf8'));
const fixture = (name: string) => json(`test/fixtures/formats/${name}.json`);
const tmp = mkdtempSync(join(tmpdir(), 'offtoken-bin-'));
let n = 0;
function file(text: string, mode = 0o600): string {
  const p = join(tmp, `f${n++}`);
  writeFileSync(p, text, { mode });
  return p;
}
const out = (args: string[], env?: Record<string, string>) => JSON.parse(ok(bin(args, env ? { env } : {})));

describe('the built bin (node dist/cli/main.js)', () => {
  it('is what package.json "bin" names', () => {
    assert.deepEqual(json('package.json').bin, { offtoken: './dist/cli/main.js' });
  });

  it('keys: generate, then thumbprint gives the kid (RFC 7638); jwks publishes the public half only', () => {
    const keyFile = join(tmp, 'ed.key');
    const info = out(['keys', 'generate', '--alg', 'EdDSA', '--out', keyFile, '--json']);
    assert.equal(out(['keys', 'thumbprint', keyFile, '--json']).thumbprint, info.kid);
    const f = fixture('offline-signed-ed25519-keyfile');
    const set = out(['keys', 'jwks', file(f.keyFile)]);
    assert.equal(set.keys.length, 1);
    assert.equal(set.keys[0].x, f.publicJwk.x);
    assert.equal(set.keys[0].d, undefined);
  });

  it('jwt: RFC 7515 A.1 verifies at 1300819379 and is ERR_JWT_EXPIRED at exp', () => {
    const a1 = json('test/jose/vectors/rfc7515.json').cases[0];
    const args = [
      'jwt',
      'verify',
      a1.token,
      '--secret',
      a1.jwk.k,
      '--alg',
      'HS256',
      '--iss',
      'joe',
      '--typ',
      'JWT',
    ];
    assert.equal(out([...args, '--now', '1300819379', '--json'])['http://example.com/is_root'], true);
    rejected(bin([...args, '--now', '1300819380']), 'ERR_JWT_EXPIRED');
  });

  it('otp: the RFC 6238 code at T = 59', () => {
    const r = out([
      'otp',
      'code',
      '--secret',
      'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
      '--time',
      '59',
      '--digits',
      '8',
      '--json',
    ]);
    assert.equal(r.code, '94287082');
  });

  it('otp and stores: the pinned sealed credential in a SQLite store verifies its code once', async () => {
    const f = fixture('otp-credential-sealed');
    const db = join(tmp, 'otp.db');
    const store = await ot.openStore(`sqlite:${db}`);
    const { last: _l, drift: _d, failures: _f, lockedUntil: _u, ...record } = f.record;
    assert.equal(await store.createCredential(record), true);
    await store.close();
    const args = [
      'otp',
      'verify',
      f.code,
      '--store',
      `sqlite:${db}`,
      '--id',
      record.id,
      '--now',
      String(f.verifyAt),
    ];
    const env = { OFFTOKEN_STORE_KEY: f.storeKey };
    assert.equal(out(args, env).ok, true);
    rejected(bin(args, { env }), 'ERR_OTP_REPLAYED');
  });

  for (const name of [
    'offline-sealed-a256gcm-keyfile',
    'offline-sealed-a128gcm-keyfile',
    'offline-signed-ed25519-keyfile',
    'offline-mac-hs256-keyfile',
  ]) {
    it(`token read: the pinned ${name} gives back its payload and claims`, () => {
      const f = fixture(name);
      const aud = f.audience !== undefined ? ['--audience', f.audience] : [];
      const r = out(['token', 'read', '--key', file(f.keyFile), ...aud, f.token]);
      assert.deepEqual(r, { payload: f.payload, claims: f.claims, mode: f.mode, kid: f.kid });
    });
  }

  it('token read: a signed token with the public JWKS only; --consume accepts it once (SQLite)', () => {
    const f = fixture('offline-signed-ed25519-keyfile');
    const jwks = file(JSON.stringify({ keys: [f.publicJwk] }), 0o644);
    const args = [
      'token',
      'read',
      '--jwks',
      jwks,
      '--audience',
      f.audience,
      '--consume',
      `sqlite:${join(tmp, 'r.db')}`,
    ];
    assert.deepEqual(out([...args, f.token]).payload, f.payload);
    rejected(bin([...args, f.token]), 'ERR_OFFLINE_TOKEN_REPLAYED');
  });

  it('audit verify: the pinned log with its checkpoint key', () => {
    const f = fixture('audit-log-checkpoints');
    const jwks = file(JSON.stringify({ keys: [f.publicJwk] }), 0o644);
    const r = out(['audit', 'verify', file(f.text), '--jwks', jwks]);
    assert.equal(r.ok, true);
    assert.equal(r.head, f.result.head);
    assert.equal(r.checkpoints, f.result.checkpoints);
    assert.equal(r.signaturesChecked, true);
  });

  it('status check: the pinned list says valid for one token and revoked for another', () => {
    const f = fixture('status-list-1bit');
    const list = file(f.listToken, 0o644);
    const jwks = file(JSON.stringify(f.jwks), 0o644);
    for (const ref of f.references) {
      const r = bin(['status', 'check', '--list', list, '--jwks', jwks, '--typ', 'JWT', '--json', ref.token]);
      if (ref.code === null)
        assert.deepEqual(JSON.parse(ok(r)), { valid: true, status: 0, idx: ref.idx, uri: f.uri });
      else rejected(r, ref.code);
    }
  });

  it('provision (presets): a batch token is accepted once by the gateway', () => {
    const key = join(tmp, 'prov.key');
    ok(bin(['keys', 'generate', '--alg', 'EdDSA', '--out', key]));
    const batch = join(tmp, 'batch.jsonl');
    ok(bin(['provision', 'batch', '--key', key, '--serials', file('SN-1\nSN-2\n', 0o644), '--out', batch]));
    const records = readFileSync(batch, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const args = ['provision', 'check', '--key', key, '--consume', `sqlite:${join(tmp, 'prov.db')}`];
    assert.equal(out([...args, records[1].token]).serial, 'SN-2');
    rejected(bin([...args, records[1].token]), 'ERR_OFFLINE_TOKEN_REPLAYED');
  });

  it('service-account: an assertion made by the bin verifies with the account JWKS', () => {
    const sa = join(tmp, 'sa.json');
    ok(bin(['service-account', 'create', '--out', sa, '--client-id', 'sa-bin-test']));
    const endpoint = 'https://as.example.com/token';
    const t = out([
      'service-account',
      'token',
      '--key',
      sa,
      '--assertion',
      '--token-endpoint',
      endpoint,
      '--json',
    ]);
    const jwks = file(ok(bin(['service-account', 'jwks', '--key', sa])), 0o644);
    const claims = out([
      'jwt',
      'verify',
      t.token,
      '--jwks',
      jwks,
      '--alg',
      'EdDSA',
      '--iss',
      'sa-bin-test',
      '--aud',
      endpoint,
      '--json',
    ]);
    assert.equal(claims.sub, 'sa-bin-test');
  });
});
