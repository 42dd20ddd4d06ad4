import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Keyring } from '../../src/keys/index.js';
import { deriveOfflineKey, OFFLINE_TYP, OfflineTokenGenerator } from '../../src/offline/index.js';
import { fixedClock, macKey, publicOnly, sealedKey, signedKey, throwsCode } from './helpers.js';

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'));
}

describe('OfflineTokenGenerator round trip', () => {
  for (const [mode, key] of [
    ['sealed', sealedKey(256)],
    ['signed', signedKey()],
    ['mac', macKey()],
  ] as const) {
    it(`${mode}: generate then read returns the payload`, () => {
      const gen = new OfflineTokenGenerator({ key, ttlSeconds: 60 });
      assert.equal(gen.mode, mode);
      const token = gen.generate(
        { door: 'B12', n: 3 },
        { sub: 'alice', device: 'dev-1', act: 'unlock-door' },
      );
      assert.equal(token.split('.').length, mode === 'sealed' ? 5 : 3);
      const h = header(token);
      assert.equal(h.typ, OFFLINE_TYP);
      assert.equal(h.kid, key.kid);
      assert.deepEqual(gen.read(token), { door: 'B12', n: 3 });
      const r = gen.verify(token);
      assert.equal(r.claims.sub, 'alice');
      assert.equal(r.claims.device, 'dev-1');
      assert.deepEqual(r.claims.act, { name: 'unlock-door' });
      assert.equal(r.claims.exp - r.claims.iat, 60);
      assert.match(r.claims.jti, /^[A-Za-z0-9_-]{22}$/);
    });
  }

  it('sealed tokens hide the payload; signed tokens do not claim to', () => {
    const gen = new OfflineTokenGenerator({ key: sealedKey() });
    const token = gen.generate({ secret: 'visible-if-broken' });
    assert.ok(
      !Buffer.from(token.split('.')[3]!, 'base64url').toString('latin1').includes('visible-if-broken'),
    );
  });

  it('uses A128GCM/A192GCM/A256GCM for 128/192/256-bit keys', () => {
    for (const bits of [128, 192, 256] as const) {
      const gen = new OfflineTokenGenerator({ key: sealedKey(bits) });
      const t = gen.generate('x');
      assert.equal(header(t).enc, `A${bits}GCM`);
      assert.equal(header(t).alg, 'dir');
      assert.equal(gen.read(t), 'x');
    }
  });

  it('sets exp by default to 300 s and a fresh 128-bit jti per token', () => {
    const gen = new OfflineTokenGenerator({ key: macKey() });
    const a = gen.verify(gen.generate());
    const b = gen.verify(gen.generate());
    assert.equal(a.claims.exp - a.claims.iat, 300);
    assert.notEqual(a.claims.jti, b.claims.jti);
    assert.equal(Buffer.from(a.claims.jti, 'base64url').length, 16);
  });

  it('carries action params, aud and ctr', () => {
    const gen = new OfflineTokenGenerator({ key: signedKey(), audience: 'gate-7' });
    const t = gen.generate(undefined, {
      device: 'lock-1',
      act: { name: 'approve-payment', params: { amount: 10000, payee: 'bob' } },
      ctr: 5,
    });
    const r = gen.verify(t);
    assert.deepEqual(r.claims.act, { name: 'approve-payment', params: { amount: 10000, payee: 'bob' } });
    assert.equal(r.claims.aud, 'gate-7');
    assert.equal(r.claims.ctr, 5);
    assert.equal(r.payload, undefined);
  });

  it('a signed reader needs only the public key, and cannot mint', () => {
    const key = signedKey();
    const token = new OfflineTokenGenerator({ key }).generate({ ok: true });
    const reader = new OfflineTokenGenerator({ key: publicOnly(key) });
    assert.deepEqual(reader.read(token), { ok: true });
    throwsCode(() => reader.generate({}), 'ERR_INVALID_ARGUMENT');
  });

  it('refuses a key of the wrong alg for the mode', () => {
    throwsCode(() => new OfflineTokenGenerator({ key: macKey(), mode: 'sealed' }), 'ERR_INVALID_ARGUMENT');
    throwsCode(
      () => new OfflineTokenGenerator({ secret: randomBytes(32), mode: 'signed' }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(() => new OfflineTokenGenerator({}), 'ERR_INVALID_ARGUMENT');
  });

  it('refuses floats and nested params on generate', () => {
    const gen = new OfflineTokenGenerator({ key: macKey() });
    throwsCode(
      () => gen.generate(undefined, { act: 'pay', params: { amount: 12.5 } }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => gen.generate(undefined, { act: 'pay', params: { x: {} as unknown as string } }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(() => gen.generate(undefined, { ctr: 1 }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => gen.generate(undefined, { device: 'd', ctr: -1 }), 'ERR_INVALID_ARGUMENT');
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    throwsCode(() => gen.generate(deep as never), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => gen.generate({ n: 1n } as never), 'ERR_INVALID_ARGUMENT');
  });
});

describe('OfflineTokenGenerator positional form (compatibility)', () => {
  it('(password, aesBits, ttl, tolerance) makes sealed tokens another instance with the same password reads', () => {
    const a = new OfflineTokenGenerator('correct horse battery staple', 128, 60, 5);
    const b = new OfflineTokenGenerator('correct horse battery staple', 128, 60, 5);
    assert.equal(a.mode, 'sealed');
    assert.equal(a.ttlSeconds, 60);
    assert.equal(a.ttlTolerance, 5);
    const t = a.generate('hello');
    assert.equal(header(t).enc, 'A128GCM');
    assert.equal(b.read(t), 'hello');
  });

  it('another password does not read the token', () => {
    const t = new OfflineTokenGenerator('pw-one', 256, 60, 0).generate('x');
    throwsCode(() => new OfflineTokenGenerator('pw-two', 256, 60, 0).read(t), 'ERR_OFFLINE_TOKEN_INVALID');
  });

  it('a raw key goes through HKDF and the bit size selects the enc', () => {
    const secret = randomBytes(32);
    const t = new OfflineTokenGenerator(secret, 192, 30, 0).generate({ a: 1 });
    assert.equal(header(t).enc, 'A192GCM');
    assert.deepEqual(new OfflineTokenGenerator({ secret, aesBits: 192 }).read(t), { a: 1 });
    const k = deriveOfflineKey(secret, { mode: 'sealed', bits: 192 });
    assert.equal(k.symmetricKeySize, 24);
  });

  it('rejects an unknown aesBits and a short raw secret', () => {
    throwsCode(() => new OfflineTokenGenerator(randomBytes(32), 512, 30, 0), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new OfflineTokenGenerator(randomBytes(8), 256, 30, 0), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new OfflineTokenGenerator('', 256, 30, 0), 'ERR_INVALID_ARGUMENT');
  });

  it('mac mode from a shared secret derives a key distinct from the sealed one', () => {
    const secret = randomBytes(32);
    const mac = deriveOfflineKey(secret, { mode: 'mac' }).export();
    const sealed = deriveOfflineKey(secret, { mode: 'sealed' }).export();
    assert.notDeepEqual(mac, sealed);
    const gen = new OfflineTokenGenerator({ secret, mode: 'mac' });
    assert.equal(gen.read(gen.generate(7)), 7);
  });
});

describe('time frames', () => {
  it('accepts until exp + tolerance and rejects after with ERR_OFFLINE_TOKEN_EXPIRED', () => {
    const c = fixedClock();
    const gen = new OfflineTokenGenerator({
      key: sealedKey(),
      ttlSeconds: 60,
      ttlTolerance: 5,
      clock: c.clock,
    });
    const t = gen.generate('x');
    c.add(64);
    assert.equal(gen.read(t), 'x');
    c.add(1);
    throwsCode(() => gen.read(t), 'ERR_OFFLINE_TOKEN_EXPIRED');
  });

  it('rejects a token before nbf - tolerance with ERR_OFFLINE_TOKEN_NOT_YET_VALID', () => {
    const c = fixedClock();
    const gen = new OfflineTokenGenerator({
      key: signedKey(),
      ttlSeconds: 60,
      ttlTolerance: 5,
      clock: c.clock,
    });
    const t = gen.generate('x', { nbf: c.clock() + 100 });
    throwsCode(() => gen.read(t), 'ERR_OFFLINE_TOKEN_NOT_YET_VALID');
    c.add(95);
    assert.equal(gen.read(t), 'x');
  });

  it('rejects a token issued in the future (clock skew) with ERR_OFFLINE_TOKEN_NOT_YET_VALID', () => {
    const issuer = fixedClock(1_800_000_100);
    const readerClock = fixedClock(1_800_000_000);
    const key = macKey();
    const t = new OfflineTokenGenerator({ key, clock: issuer.clock }).generate('x');
    throwsCode(
      () => new OfflineTokenGenerator({ key, clock: readerClock.clock, ttlTolerance: 10 }).read(t),
      'ERR_OFFLINE_TOKEN_NOT_YET_VALID',
    );
  });
});

describe('audience', () => {
  it('requires the reader audience in aud', () => {
    const key = macKey();
    const t = new OfflineTokenGenerator({ key, audience: 'gate-1' }).generate('x');
    assert.equal(new OfflineTokenGenerator({ key, audience: 'gate-1' }).read(t), 'x');
    throwsCode(
      () => new OfflineTokenGenerator({ key, audience: 'gate-2' }).read(t),
      'ERR_OFFLINE_TOKEN_AUDIENCE',
    );
    throwsCode(() => new OfflineTokenGenerator({ key }).read(t), 'ERR_OFFLINE_TOKEN_AUDIENCE');
    const noAud = new OfflineTokenGenerator({ key }).generate('x');
    throwsCode(
      () => new OfflineTokenGenerator({ key, audience: 'gate-1' }).read(noAud),
      'ERR_OFFLINE_TOKEN_AUDIENCE',
    );
  });

  it('accepts an array aud that includes the reader', () => {
    const key = sealedKey();
    const t = new OfflineTokenGenerator({ key }).generate('x', { aud: ['a', 'b'] });
    assert.equal(new OfflineTokenGenerator({ key, audience: 'b' }).read(t), 'x');
  });
});

describe('audit events', () => {
  it('records issuance, acceptance and rejection with ids, never the token', async () => {
    const events: { event: string; fields: Record<string, unknown> }[] = [];
    const audit = {
      record: (event: string, fields: Record<string, unknown>) => events.push({ event, fields }),
    };
    const key = macKey();
    const gen = new OfflineTokenGenerator({ key, audit });
    const token = gen.generate({ secret: 'payload-secret' }, { sub: 'alice' });
    gen.read(token);
    throwsCode(() => gen.read(`${token}x`), 'ERR_OFFLINE_TOKEN_MALFORMED');
    assert.deepEqual(
      events.map((e) => e.event),
      ['token.issue', 'token.accept', 'token.reject'],
    );
    assert.equal(events[0]!.fields.kid, key.kid);
    assert.equal(events[0]!.fields.jti, events[1]!.fields.jti);
    assert.equal(events[2]!.fields.code, 'ERR_OFFLINE_TOKEN_MALFORMED');
    const text = JSON.stringify(events);
    assert.ok(!text.includes(token.slice(-20)));
    assert.ok(!text.includes('payload-secret'));
  });
});

describe('kid rotation through the keyring', () => {
  for (const [mode, make] of [
    ['sealed', () => sealedKey(256)],
    ['signed', () => signedKey()],
    ['mac', () => macKey()],
  ] as const) {
    it(`${mode}: new tokens use the active key, old ones read until the old key is retired`, () => {
      const k1 = make();
      const k2 = make();
      const ring = new Keyring({ active: k1 });
      const gen = new OfflineTokenGenerator({ keyring: ring });
      assert.equal(gen.mode, mode);
      const t1 = gen.generate('one');
      ring.rotate(k2);
      const t2 = gen.generate('two');
      assert.equal(header(t1).kid, k1.kid);
      assert.equal(header(t2).kid, k2.kid);
      assert.equal(gen.read(t1), 'one');
      assert.equal(gen.read(t2), 'two');
      // a reader holding only the new key by file refuses the old token by kid
      throwsCode(() => new OfflineTokenGenerator({ key: k2 }).read(t1), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
      ring.retire(k1.kid);
      throwsCode(() => gen.read(t1), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
      assert.equal(gen.read(t2), 'two');
    });
  }

  it('a verify-only keyring of public keys reads signed tokens and cannot mint', () => {
    const k = signedKey();
    const t = new OfflineTokenGenerator({ key: k }).generate('x');
    const reader = new OfflineTokenGenerator({
      keyring: new Keyring({ verifyOnly: [publicOnly(k)] }),
      mode: 'signed',
    });
    assert.equal(reader.read(t), 'x');
    throwsCode(() => reader.generate('y'), 'ERR_KEYRING_NO_ACTIVE_KEY');
  });
});
