import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signJwt, verifyJwt } from '../../src/jose/index.js';
import { buildJwks, generateKey, Keyring, LocalJwks, selectKey } from '../../src/keys/index.js';
import type { OfftokenKey } from '../../src/keys/types.js';

function clockAt(t: number) {
  const c = { t, now: () => c.t };
  return c;
}

const signWith = (ring: Keyring, iat: number) => {
  const k = ring.signingKey();
  return signJwt({ sub: 'u' }, k.privateKey as never, { alg: 'EdDSA', kid: k.kid, iat, expiresIn: 3600 });
};

describe('Keyring', () => {
  it('rotates without downtime: tokens signed before and after both verify', () => {
    const c = clockAt(1_800_000_000);
    const ring = new Keyring({ active: generateKey('EdDSA'), clock: c.now });
    const policy = () => ({ algorithms: ['EdDSA'] as const, now: c.t });
    const before = signWith(ring, c.t);
    const oldKid = ring.signingKey().kid;
    const next = ring.rotate(undefined, { retireAfter: 3600 });
    assert.notEqual(next.kid, oldKid);
    assert.equal(next.alg, 'EdDSA');
    const afterTok = signWith(ring, c.t);
    assert.equal(
      verifyJwt(before, (h) => ring.resolve(h), { ...policy(), algorithms: ['EdDSA'] }).header.kid,
      oldKid,
    );
    assert.equal(
      verifyJwt(afterTok, (h) => ring.resolve(h), { ...policy(), algorithms: ['EdDSA'] }).header.kid,
      next.kid,
    );
    // the published JWKS carries both until the old key retires
    assert.deepEqual(
      ring
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
      [oldKid, next.kid].sort(),
    );
    c.t += 3600;
    assert.throws(() => ring.resolve({ kid: oldKid, alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.deepEqual(
      ring.jwks().keys.map((k) => k.kid),
      [next.kid],
    );
    assert.ok(ring.resolve({ kid: next.kid, alg: 'EdDSA' }));
  });

  it('honours each key not-before / not-after', () => {
    const c = clockAt(1000);
    const announced: OfftokenKey = { ...generateKey('ES256'), nbf: 2000, exp: 3000 };
    const ring = new Keyring({ active: generateKey('ES256'), verifyOnly: [announced], clock: c.now });
    assert.throws(() => ring.resolve({ kid: announced.kid, alg: 'ES256' }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    c.t = 2000;
    assert.ok(ring.resolve({ kid: announced.kid, alg: 'ES256' }).equals(announced.publicKey as never));
    c.t = 2999;
    assert.ok(ring.resolve({ kid: announced.kid, alg: 'ES256' }));
    c.t = 3000;
    assert.throws(() => ring.resolve({ kid: announced.kid, alg: 'ES256' }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    // an announced key is published ahead of its use
    c.t = 1000;
    assert.ok(ring.jwks().keys.some((k) => k.kid === announced.kid));
  });

  it('retires a verify-only key at once or from a given time, never the active key', () => {
    const c = clockAt(5000);
    const a = generateKey('EdDSA');
    const b = generateKey('EdDSA');
    const d = generateKey('EdDSA');
    const ring = new Keyring({ active: a, verifyOnly: [b, d], clock: c.now });
    ring.retire(b.kid);
    assert.throws(() => ring.resolve({ kid: b.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    ring.retire(d.kid, { at: 6000 });
    assert.ok(ring.resolve({ kid: d.kid, alg: 'EdDSA' }));
    // a later retire time never extends the key's life
    ring.retire(d.kid, { at: 9000 });
    c.t = 6000;
    assert.throws(() => ring.resolve({ kid: d.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.throws(() => ring.retire(a.kid), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('has no signing key before the first rotate, or when the active key is outside its window', () => {
    const c = clockAt(100);
    const ring = new Keyring({ clock: c.now });
    assert.throws(() => ring.signingKey(), { code: 'ERR_KEYRING_NO_ACTIVE_KEY' });
    assert.throws(() => ring.rotate(), { code: 'ERR_KEYRING_NO_ACTIVE_KEY' });
    ring.rotate({ ...generateKey('HS256'), exp: 200 });
    assert.equal(ring.signingKey().alg, 'HS256');
    c.t = 200;
    assert.throws(() => ring.signingKey(), { code: 'ERR_KEYRING_NO_ACTIVE_KEY' });
  });

  it('selects by alg and refuses ambiguity when the header has no kid', () => {
    const ring = new Keyring({ active: generateKey('EdDSA'), verifyOnly: [generateKey('ES256')] });
    assert.equal(ring.resolveKey({ alg: 'ES256' }).alg, 'ES256');
    ring.rotate(generateKey('EdDSA'));
    assert.throws(() => ring.resolve({ alg: 'EdDSA' }), { code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS' });
  });

  it('keeps kids unique and selects sealed keys by enc', () => {
    const a = generateKey('A256GCM');
    const ring = new Keyring({ active: a });
    assert.throws(() => ring.add({ ...generateKey('A256GCM'), kid: a.kid }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.ok(ring.resolve({ kid: a.kid, alg: 'dir', enc: 'A256GCM' }).equals(a.secretKey as never));
    assert.throws(() => ring.resolve({ kid: a.kid, alg: 'dir', enc: 'A128GCM' }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    assert.throws(() => ring.resolve({ kid: a.kid, alg: 'HS256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});

describe('key selection by kid/alg/use', () => {
  const sig = generateKey('HS256');
  const enc = generateKey('A256GCM');
  const ed = generateKey('EdDSA');
  it('matches use when asked', () => {
    assert.equal(selectKey([sig, enc, ed], { use: 'enc' }), enc);
    assert.throws(() => selectKey([sig, enc, ed], { use: 'sig' }), {
      code: 'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
    });
    assert.equal(selectKey([sig, enc, ed], { use: 'sig', alg: 'EdDSA' }), ed);
    assert.throws(() => selectKey([sig, enc], { kid: sig.kid, use: 'enc' }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });
  it('LocalJwks ignores header members other than kid/alg (a token cannot steer by use)', () => {
    const jwks = new LocalJwks(buildJwks([ed]));
    assert.ok(jwks.resolve({ kid: ed.kid, alg: 'EdDSA', use: 'enc' } as never).equals(ed.publicKey as never));
    assert.equal(jwks.resolveKey({ kid: ed.kid, use: 'sig' }), jwks.keys[0]);
    assert.throws(() => jwks.resolveKey({ kid: ed.kid, use: 'enc' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});
