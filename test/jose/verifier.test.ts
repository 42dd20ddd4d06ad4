import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { JwtVerifier } from '../../src/jose/jwt/verifier.js';
import { verifyJwt } from '../../src/jose/jwt/verify.js';
import type { JwtPolicy } from '../../src/jose/types.js';
import { generateKey, Keyring } from '../../src/keys/index.js';

const T0 = 1_800_000_000;
const ed = generateKey('EdDSA');

function mint(claims: Record<string, unknown> = {}, key = ed, ttl = 60): string {
  return signJwt({ sub: 'alice', ...claims }, (key.privateKey ?? key.secretKey)!, {
    alg: 'EdDSA',
    kid: key.kid,
    iat: T0,
    expiresIn: ttl,
  });
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('JwtVerifier', () => {
  it('without a cache verifies every time and hands out fresh, mutable results', () => {
    const v = new JwtVerifier({ key: ed.publicKey!, policy: { algorithms: ['EdDSA'], now: T0 } });
    const t = mint();
    const a = v.verify(t);
    const b = v.verify(t);
    assert.notEqual(a, b);
    assert.equal(v.cacheSize, 0);
    a.payload.sub = 'changed';
    assert.equal(b.payload.sub, 'alice');
  });

  it('a cache hit returns the verified result without redoing the signature or parsing work', () => {
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 10 },
    });
    const t = mint();
    const first = v.verify(t);
    // the very same object: nothing was decoded, parsed or verified again
    assert.equal(v.verify(t), first);
    assert.equal(v.cacheSize, 1);
    // shared results are frozen so one caller cannot alter what the next one sees
    assert.throws(() => {
      (first.payload as Record<string, unknown>).sub = 'mallory';
    }, TypeError);
  });

  it('a hit is still rejected at exp (policy clock), with tolerance, and the entry is dropped', () => {
    let now = T0;
    const policy: JwtPolicy = { algorithms: ['EdDSA'], clock: () => now, clockTolerance: 5 };
    const v = new JwtVerifier({ key: ed.publicKey!, policy, cache: { max: 10, ttl: 3600 } });
    const t = mint({}, ed, 60);
    const first = v.verify(t);
    now = T0 + 64;
    assert.equal(v.verify(t), first);
    now = T0 + 65;
    assert.equal(
      errorCode(() => v.verify(t)),
      'ERR_JWT_EXPIRED',
    );
    assert.equal(v.cacheSize, 0);
  });

  it('a hit re-checks the other time claims too (maxTokenAge)', () => {
    let now = T0;
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['EdDSA'], clock: () => now, maxTokenAge: 30 },
      cache: { max: 10 },
    });
    const t = mint({}, ed, 3600);
    v.verify(t);
    now = T0 + 31;
    assert.equal(
      errorCode(() => v.verify(t)),
      'ERR_JWT_EXPIRED',
    );
  });

  it("a retired key's tokens stop verifying, cached or not", () => {
    let now = T0;
    const a = generateKey('EdDSA');
    const ring = new Keyring({ active: a, clock: () => now });
    const v = new JwtVerifier({
      resolver: (h) => ring.resolve(h),
      policy: { algorithms: ['EdDSA'], clock: () => now },
      cache: { max: 10 },
    });
    const t = mint({}, a, 3600);
    const first = v.verify(t);
    assert.equal(v.verify(t), first);
    ring.rotate(undefined, { retireAfter: 100 });
    now = T0 + 50;
    assert.equal(v.verify(t), first, 'still inside the retire window');
    now = T0 + 100;
    assert.equal(
      errorCode(() => v.verify(t)),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
    assert.equal(v.cacheSize, 0);
  });

  it('a key removed at once, or replaced under the same kid, sends the token back to full verification', () => {
    const a = generateKey('EdDSA', { kid: 'k1' });
    const impostor = generateKey('EdDSA', { kid: 'k1' });
    let current = a;
    const v = new JwtVerifier({
      resolver: () => current.publicKey!,
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 10 },
    });
    const t = mint({}, a);
    v.verify(t);
    current = impostor;
    assert.equal(
      errorCode(() => v.verify(t)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    assert.equal(v.cacheSize, 0);

    const b = generateKey('EdDSA');
    const ring = new Keyring({ active: b });
    ring.rotate();
    const w = new JwtVerifier({
      resolver: (h) => ring.resolve(h),
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 10 },
    });
    const tb = mint({}, b);
    w.verify(tb);
    ring.retire(b.kid);
    assert.equal(
      errorCode(() => w.verify(tb)),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });

  it('is bounded: the least recently used token is dropped first', () => {
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 3 },
    });
    const tokens = [0, 1, 2, 3, 4].map((i) => mint({ n: i }));
    const results = tokens.map((t) => v.verify(t));
    assert.equal(v.cacheSize, 3);
    // tokens 0 and 1 were evicted: verifying them again builds new results
    assert.notEqual(v.verify(tokens[0]!), results[0]);
    assert.equal(v.cacheSize, 3);
    // 0 pushed out 2 (the least recently used of 2, 3, 4); 3 and 4 are still hits
    assert.equal(v.verify(tokens[4]!), results[4]);
    assert.equal(v.verify(tokens[3]!), results[3]);
    assert.notEqual(v.verify(tokens[2]!), results[2]);
    assert.equal(v.cacheSize, 3);
  });

  it('an entry is not reused after its ttl, even for a token without exp', () => {
    let now = T0;
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['EdDSA'], clock: () => now },
      cache: { max: 10, ttl: 30 },
    });
    const t = signJwt({ sub: 'no-exp' }, ed.privateKey!, { alg: 'EdDSA', iat: T0 });
    const first = v.verify(t);
    now = T0 + 29;
    assert.equal(v.verify(t), first);
    now = T0 + 30;
    assert.notEqual(v.verify(t), first);
  });

  it('never caches a rejection', () => {
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 10 },
    });
    const t = mint();
    const bad = `${t.slice(0, -4)}${t.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    assert.equal(
      errorCode(() => v.verify(bad)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    assert.equal(
      errorCode(() => v.verify(bad)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    assert.equal(v.cacheSize, 0);
  });

  it('keeps the policy strict on the first verification (alg allow-list, key fit)', () => {
    const v = new JwtVerifier({
      key: ed.publicKey!,
      policy: { algorithms: ['ES256'], now: T0 },
      cache: { max: 10 },
    });
    assert.equal(
      errorCode(() => v.verify(mint())),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
    const h = new JwtVerifier({
      key: createSecretKey(Buffer.alloc(32, 1)),
      policy: { algorithms: ['EdDSA'], now: T0 },
      cache: { max: 10 },
    });
    assert.equal(
      errorCode(() => h.verify(mint())),
      'ERR_JOSE_KEY_MISMATCH',
    );
  });

  it('rejects bad options with ERR_INVALID_ARGUMENT', () => {
    const policy = { algorithms: ['EdDSA'] as const };
    assert.equal(
      errorCode(() => new JwtVerifier({ policy: { ...policy, algorithms: ['EdDSA'] } })),
      'ERR_INVALID_ARGUMENT',
    );
    assert.equal(
      errorCode(
        () =>
          new JwtVerifier({
            key: ed.publicKey!,
            resolver: () => ed.publicKey!,
            policy: { algorithms: ['EdDSA'] },
          }),
      ),
      'ERR_INVALID_ARGUMENT',
    );
    assert.equal(
      errorCode(
        () => new JwtVerifier({ key: ed.publicKey!, policy: { algorithms: ['EdDSA'] }, cache: { max: 0 } }),
      ),
      'ERR_INVALID_ARGUMENT',
    );
    assert.equal(
      errorCode(
        () =>
          new JwtVerifier({
            key: ed.publicKey!,
            policy: { algorithms: ['EdDSA'] },
            cache: { max: 5, ttl: -1 },
          }),
      ),
      'ERR_INVALID_ARGUMENT',
    );
  });
});

describe('verifyJwt across consecutive tokens (the previous header is reused only for the same segment)', () => {
  const policy: JwtPolicy = { algorithms: ['EdDSA'], now: T0 };
  const seg = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('a token after a good one is still checked in full: shape, alphabet, alg and signature', () => {
    const good = mint();
    const [h, p, s] = good.split('.') as [string, string, string];
    assert.equal(verifyJwt(good, ed.publicKey!, policy).payload.sub, 'alice');
    assert.equal(
      errorCode(() => verifyJwt(`${h}.${p}.${s}.x`, ed.publicKey!, policy)),
      'ERR_JWS_INVALID',
    );
    assert.equal(
      errorCode(() => verifyJwt(`${h}.${p}`, ed.publicKey!, policy)),
      'ERR_JWS_INVALID',
    );
    assert.equal(
      errorCode(() => verifyJwt(`${h}.${p}!.${s}`, ed.publicKey!, policy)),
      'ERR_JWS_INVALID',
    );
    assert.equal(
      errorCode(() => verifyJwt(`${h}.${p}.${s}+`, ed.publicKey!, policy)),
      'ERR_JWS_INVALID',
    );
    assert.equal(
      errorCode(() => verifyJwt(`${h}.${seg({ sub: 'mallory' })}.${s}`, ed.publicKey!, policy)),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    // a header segment that merely starts with the previous one is a different header (here: not JSON)
    assert.equal(
      errorCode(() => verifyJwt(`${h}A.${p}.${s}`, ed.publicKey!, policy)),
      'ERR_JOSE_HEADER_INVALID',
    );
    assert.equal(verifyJwt(good, ed.publicKey!, policy).payload.sub, 'alice');
  });

  it('a different header after a good token is parsed and judged on its own (alg none, other alg)', () => {
    const good = mint();
    verifyJwt(good, ed.publicKey!, policy);
    const [, p, s] = good.split('.') as [string, string, string];
    assert.equal(
      errorCode(() => verifyJwt(`${seg({ alg: 'none' })}.${p}.`, ed.publicKey!, policy)),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
    assert.equal(
      errorCode(() => verifyJwt(`${seg({ alg: 'ES256', kid: ed.kid })}.${p}.${s}`, ed.publicKey!, policy)),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
    assert.equal(
      errorCode(() =>
        verifyJwt(`${seg({ alg: 'EdDSA', alg2: 1, crit: ['alg2'] })}.${p}.${s}`, ed.publicKey!, policy),
      ),
      'ERR_JOSE_CRIT_UNSUPPORTED',
    );
    assert.equal(verifyJwt(good, ed.publicKey!, policy).payload.sub, 'alice');
  });
});

describe('large payloads', () => {
  it('sign and verify round-trip payloads past the reused-buffer size (and non-ASCII text)', () => {
    for (const size of [100, 30_000, 120_000]) {
      const note = `${'é'.repeat(size / 2)}${'x'.repeat(size / 2)}`;
      const t = signJwt({ sub: 'alice', note }, ed.privateKey!, { alg: 'EdDSA', iat: T0 });
      const r = verifyJwt(t, ed.publicKey!, { algorithms: ['EdDSA'], now: T0, maxTokenSize: 400_000 });
      assert.equal(r.payload.note, note);
    }
  });
});
