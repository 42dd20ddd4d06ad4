// The package as a user imports it: `offtoken` resolves through package.json "exports" to the built dist/
// (scripts/test.mjs builds it first), not to src/ through tsx. One test per capability at least, on known
// answers (RFC vectors) and on the pinned fixtures of test/fixtures/formats, so what ships reads what exists.
import assert from 'node:assert/strict';
import { createPublicKey, createSecretKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// Typed from the source of the same API; loaded from dist/ at run time (a variable specifier keeps the
// type-check independent of a build).
type Offtoken = typeof import('../../src/index.js');
const SPECIFIER = 'offtoken';
const ot = (await import(SPECIFIER)) as Offtoken;

const root = join(import.meta.dirname, '../..');
// biome-ignore lint/suspicious/noExplicitAny: JSON fixtures and vectors
const json = (p: string): any => JSON.parse(readFileSync(join(root, p), 'utf8'));
const fixture = (name: string) => json(`test/fixtures/formats/${name}.json`);
const b64u = (s: string) => Buffer.from(s, 'base64url');
const tmp = mkdtempSync(join(tmpdir(), 'offtoken-package-'));
let n = 0;
function privateFile(text: string): string {
  const p = join(tmp, `f${n++}`);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}
function code(c: string) {
  return (e: unknown) => e instanceof ot.OfftokenError && e.code === c;
}

describe("the package entry point ('offtoken' -> dist/)", () => {
  it('resolves to dist/index.js through package.json exports', () => {
    assert.equal(import.meta.resolve(SPECIFIER), new URL('../../dist/index.js', import.meta.url).href);
  });

  it('keys: RFC 7638 thumbprint; an encrypted key file opens with its passphrase', () => {
    for (const v of json('test/keys/vectors/rfc7638.json')) assert.equal(ot.thumbprint(v.jwk), v.thumbprint);
    const f = fixture('keyfile-encrypted-es256');
    const key = ot.readKeyFileSync(privateFile(f.fileText), { passphrase: f.passphrase });
    assert.deepEqual(ot.exportJwk(key, { private: true }), f.jwk);
    assert.throws(
      () => ot.readKeyFileSync(privateFile(f.fileText), { passphrase: 'no' }),
      code('ERR_KEYFILE_DECRYPT_FAILED'),
    );
  });

  it('jose: RFC 7515 A.1 verifies as a JWT at 1300819379 and is expired at exp; RFC 7520 5.6 decrypts', () => {
    const a1 = json('test/jose/vectors/rfc7515.json').cases[0];
    const key = ot.importJwk(a1.jwk, { alg: 'HS256' }).secretKey!;
    const policy = { algorithms: ['HS256' as const], typ: 'JWT', issuer: 'joe' };
    assert.equal(
      ot.verifyJwt(a1.token, key, { ...policy, now: 1300819379 }).payload['http://example.com/is_root'],
      true,
    );
    assert.throws(() => ot.verifyJwt(a1.token, key, { ...policy, now: 1300819380 }), code('ERR_JWT_EXPIRED'));
    const v = json('test/jose/vectors/rfc7520-5.6.json').cases[0];
    assert.equal(
      ot.decryptJwe(v.compact, createSecretKey(b64u(v.jwk.k))).plaintext.toString('utf8'),
      v.plaintext,
    );
  });

  it('otp: RFC 6238 codes; the pinned sealed credential validates its code once', async () => {
    const doc = json('test/otp/vectors/rfc6238.json');
    for (const v of doc.vectors)
      assert.equal(
        ot.totp(Buffer.from(v.secretAscii), { now: v.time, digits: doc.digits, algorithm: v.algorithm }),
        v.code,
      );
    const f = fixture('otp-credential-sealed');
    const { last: _l, drift: _d, failures: _f, lockedUntil: _u, ...record } = f.record;
    const store = new ot.MemoryStore();
    await store.createCredential(record);
    const validator = new ot.OtpValidator({ store, storeKey: b64u(f.storeKey), clock: () => f.verifyAt });
    assert.equal((await validator.verify(record.id, f.code)).ok, true);
    await assert.rejects(validator.verify(record.id, f.code), code('ERR_OTP_REPLAYED'));
  });

  it('offline tokens: every pinned mode and key source reads back its payload', () => {
    for (const name of [
      'offline-sealed-a256gcm-keyfile',
      'offline-signed-ed25519-keyfile',
      'offline-mac-hs256-keyfile',
      'offline-sealed-raw-secret',
      'offline-mac-passphrase',
    ]) {
      const f = fixture(name);
      const clock = () => f.readAt;
      const gen =
        f.source === 'keyfile'
          ? new ot.OfflineTokenGenerator({
              key: ot.readKeyFileSync(privateFile(f.keyFile)),
              clock,
              ...(f.audience && { audience: f.audience }),
            })
          : new ot.OfflineTokenGenerator({
              mode: f.mode,
              secret: f.source === 'secret' ? b64u(f.secret) : f.passphrase,
              clock,
            });
      assert.deepEqual(gen.read(f.token), f.payload, name);
    }
    const legacy = fixture('offline-sealed-passphrase-positional');
    assert.deepEqual(new ot.OfflineTokenGenerator(legacy.passphrase, 256).read(legacy.token), legacy.payload);
  });

  it('presets and audit: a provisioning token is accepted once; the pinned audit log verifies', async () => {
    const key = ot.generateKey('EdDSA');
    const gen = new ot.OfflineTokenGenerator({ key });
    const batch = [...ot.issueProvisioningBatch(gen, ['SN-1', 'SN-2'])];
    const store = new ot.MemoryStore();
    const r = await ot.checkProvisioningToken(gen, batch[1]!.token, { consume: store });
    assert.equal(r.serial, 'SN-2');
    await assert.rejects(
      ot.checkProvisioningToken(gen, batch[1]!.token, { consume: store }),
      code('ERR_OFFLINE_TOKEN_REPLAYED'),
    );
    const f = fixture('audit-log-checkpoints');
    const v = ot.verifyAuditLog(privateFile(f.text), {
      key: createPublicKey({ key: f.publicJwk, format: 'jwk' }),
    });
    assert.equal(v.head, f.result.head);
    assert.equal(v.checkpoints, f.result.checkpoints);
  });

  it('downscoping: the pinned downscoped token verifies with its intermediary', () => {
    const f = fixture('downscoped-token');
    const rsKey = createSecretKey(b64u(f.rsKey));
    const r = ot.verifyDownscopedToken(f.token, {
      intermediaryVerifier: createPublicKey({ key: f.authorityPublicJwk, format: 'jwk' }),
      rsKey: (kid) => (kid === f.rsKid ? rsKey : undefined),
      clock: () => f.verifyAt,
      ...f.check,
    });
    assert.deepEqual(r.rules, f.rules);
  });

  it('attenuation: the pinned attenuated token verifies; one more caveat narrows it', () => {
    const f = fixture('attenuated-token');
    const rootKey = b64u(f.rootKey);
    const opts = { ...f.context, clock: () => f.verifyAt };
    assert.deepEqual(ot.verifyAttenuated(rootKey, f.token, opts), { id: f.id, caveats: f.caveats });
    const narrower = ot.attenuate(f.token, ot.caveat.resourcePrefix('/docs/private/'));
    assert.throws(() => ot.verifyAttenuated(rootKey, narrower, opts), code('ERR_CAVEAT_FAILED'));
  });

  it('DPoP: the RFC 9449 example proofs verify at their iat, bound to the published jkt', async () => {
    const doc = json('test/dpop/vectors/rfc9449.json');
    assert.equal(ot.jwkThumbprint(doc.jwk), doc.jkt);
    for (const v of doc.proofs) {
      const r = await ot.verifyDpopProof(v.proof, {
        htm: v.htm,
        htu: v.htu,
        ...(v.accessToken && { accessToken: v.accessToken }),
        expectedJkt: doc.jkt,
        replay: new ot.MemoryStore({ clock: () => v.claims.iat }),
        clock: () => v.claims.iat,
      });
      assert.deepEqual(r.claims, v.claims);
    }
  });

  it('service accounts: an RFC 7523 assertion verifies with the account JWKS', () => {
    const sa = ot.createServiceAccount({ clientId: 'sa-package-test' });
    const tokenEndpoint = 'https://as.example.com/token';
    const t = ot.jwtAssertion(sa, { tokenEndpoint, now: 1_800_000_000 });
    const jwks = new ot.LocalJwks(ot.serviceAccountJwks(sa));
    const r = ot.verifyJwt(t, (h) => jwks.resolve(h), {
      algorithms: ['EdDSA'],
      issuer: 'sa-package-test',
      audience: tokenEndpoint,
      now: 1_800_000_001,
    });
    assert.equal(r.payload.sub, 'sa-package-test');
  });

  it('stores: a SQLite store consumes a jti once and keeps the counter monotonic', async () => {
    const store = await ot.openStore(`sqlite:${join(tmp, 'replay.db')}`);
    try {
      assert.equal(await store.consumeOnce('pkg', 'jti-1', 4_102_444_800), true);
      assert.equal(await store.consumeOnce('pkg', 'jti-1', 4_102_444_800), false);
      assert.equal(await store.advanceCounter('pkg', 'dev-1', 5), true);
      assert.equal(await store.advanceCounter('pkg', 'dev-1', 5), false);
    } finally {
      await store.close();
    }
  });

  it('errors: what the package throws is its own OfftokenError with a stable code', () => {
    const gen = new ot.OfflineTokenGenerator({ key: ot.generateKey('HS256') });
    assert.throws(
      () => gen.read('not.a.token'),
      (e: unknown) => {
        assert.ok(e instanceof ot.OfftokenError);
        assert.equal(typeof (e as { code: unknown }).code, 'string');
        return true;
      },
    );
  });
});
