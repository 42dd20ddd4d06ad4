import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CompactEncrypt, compactDecrypt, jwtVerify, SignJWT } from 'jose';
import { OfftokenError } from '../../src/errors/base.js';
import { importJwk, type Jwk, Keyring } from '../../src/keys/index.js';
import type { OfftokenKey } from '../../src/keys/types.js';
import { OFFLINE_TYP, OfflineTokenGenerator } from '../../src/offline/index.js';
import { openStore } from '../../src/stores/index.js';
import {
  deviceKey,
  es256Key,
  fixedClock,
  macKey,
  publicOnly,
  rejectsCode,
  signedKey,
  throwsCode,
} from './helpers.js';

const enc = new TextEncoder();

function segments(t: string): string[] {
  return t.split('.');
}

/** Replaces the character in the middle of segment `i` with another base64url character. */
function flip(t: string, i: number): string {
  const p = segments(t);
  const s = p[i]!;
  const at = Math.floor(s.length / 2);
  p[i] = `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
  return p.join('.');
}

function outerHeader(t: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segments(t)[0]!, 'base64url').toString('utf8'));
}

function withOuterHeader(t: string, edit: (h: Record<string, unknown>) => void): string {
  const p = segments(t);
  const h = outerHeader(t);
  edit(h);
  p[0] = Buffer.from(JSON.stringify(h)).toString('base64url');
  return p.join('.');
}

/** A nested token built entirely by jose: a signed JWT, encrypted to the reader with ECDH-ES. */
async function joseNested(
  issuer: OfftokenKey,
  reader: OfftokenKey,
  o: {
    alg?: 'EdDSA' | 'ES256' | 'HS256';
    innerTyp?: string;
    outer?: Record<string, unknown>;
    claims?: Record<string, unknown>;
    inner?: string;
    signWith?: OfftokenKey;
    apu?: string;
  } = {},
): Promise<string> {
  const alg = o.alg ?? (issuer.alg as 'EdDSA' | 'ES256');
  const inner =
    o.inner ??
    (await new SignJWT({ dat: { door: 'B12' }, sub: 'alice', ...o.claims })
      .setProtectedHeader({ alg, typ: o.innerTyp ?? OFFLINE_TYP, kid: issuer.kid })
      .setJti('j'.repeat(22))
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('2m')
      .sign((o.signWith ?? issuer).privateKey ?? (o.signWith ?? issuer).secretKey!));
  const jwe = new CompactEncrypt(enc.encode(inner));
  if (o.apu !== undefined)
    jwe.setKeyManagementParameters({ apu: enc.encode(o.apu), apv: enc.encode('door') });
  return jwe
    .setProtectedHeader({
      alg: 'ECDH-ES',
      enc: 'A256GCM',
      cty: 'JWT',
      typ: OFFLINE_TYP,
      kid: reader.kid,
      ...o.outer,
    })
    .encrypt(reader.publicKey!);
}

const combos = [
  { name: 'EdDSA issuer, X25519 reader', issuer: () => signedKey(), crv: 'X25519' as const },
  { name: 'ES256 issuer, P-256 reader', issuer: () => es256Key(), crv: 'P-256' as const },
];

for (const c of combos) {
  describe(`nested tokens: ${c.name}`, () => {
    const issuer = c.issuer();
    const device = deviceKey(c.crv);
    const writer = new OfflineTokenGenerator({ key: issuer, recipient: publicOnly(device) });
    const reader = new OfflineTokenGenerator({ key: publicOnly(issuer), decryptionKey: device });

    it('round trips: the reader decrypts with its own key and verifies the issuer signature', () => {
      assert.equal(writer.mode, 'nested');
      assert.equal(reader.mode, 'nested');
      const t = writer.generate({ door: 'B12' }, { sub: 'alice', device: 'lock-17', act: 'unlock-door' });
      const h = outerHeader(t);
      assert.deepEqual(
        [h.alg, h.enc, h.cty, h.typ, h.kid],
        ['ECDH-ES', 'A256GCM', 'JWT', OFFLINE_TYP, device.kid],
      );
      assert.equal(segments(t)[1], '');
      const r = reader.verify(t);
      assert.deepEqual(r.payload, { door: 'B12' });
      assert.equal(r.claims.act?.name, 'unlock-door');
      assert.equal(r.mode, 'nested');
      assert.equal(r.kid, issuer.kid);
    });

    it('every token has a fresh ephemeral key', () => {
      const a = outerHeader(writer.generate('x'));
      const b = outerHeader(writer.generate('x'));
      assert.notDeepEqual(a.epk, b.epk);
    });

    it('jose decrypts and verifies what offtoken made', async () => {
      const t = writer.generate({ door: 'B12' }, { sub: 'alice', aud: 'gw' });
      const { plaintext, protectedHeader } = await compactDecrypt(t, device.privateKey!);
      assert.equal(protectedHeader.cty, 'JWT');
      const { payload, protectedHeader: ih } = await jwtVerify(
        new TextDecoder().decode(plaintext),
        issuer.publicKey!,
        {
          typ: OFFLINE_TYP,
          audience: 'gw',
          algorithms: [issuer.alg],
        },
      );
      assert.equal(payload.sub, 'alice');
      assert.equal(ih.kid, issuer.kid);
    });

    it('offtoken reads what jose signed and encrypted, with or without apu/apv', async () => {
      for (const apu of [undefined, 'issuer-1']) {
        const t = await joseNested(issuer, device, apu !== undefined ? { apu } : {});
        assert.equal(outerHeader(t).apu !== undefined, apu !== undefined);
        const r = reader.verify(t);
        assert.deepEqual(r.payload, { door: 'B12' });
        assert.equal(r.claims.sub, 'alice');
      }
    });

    it('a token minted for one device is refused by another: ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
      const other = deviceKey(c.crv);
      const t = writer.generate({ door: 'B12' });
      const otherReader = new OfflineTokenGenerator({ key: publicOnly(issuer), decryptionKey: other });
      throwsCode(() => otherReader.read(t), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
      // also when the other device's key has the same kid (a copied label): the tag cannot verify
      const sameKid = new OfflineTokenGenerator({
        key: publicOnly(issuer),
        decryptionKey: { ...other, kid: device.kid },
      });
      throwsCode(() => sameKid.read(t), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it('a reader with a key on the other curve: ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
      const other = deviceKey(c.crv === 'X25519' ? 'P-256' : 'X25519', device.kid);
      const r = new OfflineTokenGenerator({ key: publicOnly(issuer), decryptionKey: other });
      throwsCode(() => r.read(writer.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
    });

    it('a token signed by another issuer key: WRONG_KEY by kid, INVALID under the same kid', async () => {
      const mallory = c.issuer();
      const forged = new OfflineTokenGenerator({ key: mallory, recipient: publicOnly(device) }).generate('x');
      throwsCode(() => reader.read(forged), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
      const sameKid = await joseNested(issuer, device, { signWith: mallory });
      throwsCode(() => reader.read(sameKid), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it('tampering is refused with its code', () => {
      const t = writer.generate({ door: 'B12' });
      throwsCode(() => reader.read(flip(t, 3)), 'ERR_OFFLINE_TOKEN_INVALID'); // ciphertext
      throwsCode(() => reader.read(flip(t, 2)), 'ERR_OFFLINE_TOKEN_INVALID'); // iv
      throwsCode(() => reader.read(`${t.slice(0, -22)}${'A'.repeat(22)}`), 'ERR_OFFLINE_TOKEN_INVALID'); // tag
      throwsCode(() => reader.read(t.slice(0, -3)), 'ERR_OFFLINE_TOKEN_TRUNCATED');
      throwsCode(() => reader.read(segments(t).slice(0, 3).join('.')), 'ERR_OFFLINE_TOKEN_TRUNCATED');
      throwsCode(() => reader.read(`${t}.x`), 'ERR_OFFLINE_TOKEN_MALFORMED');
      const swapped = segments(t);
      [swapped[2], swapped[4]] = [swapped[4]!, swapped[2]!];
      throwsCode(() => reader.read(swapped.join('.')), 'ERR_OFFLINE_TOKEN_MALFORMED');
      // a header change (here: an ignored member added) breaks the AAD
      throwsCode(
        () => reader.read(withOuterHeader(t, (h) => Object.assign(h, { x: 1 }))),
        'ERR_OFFLINE_TOKEN_INVALID',
      );
      // the epk swapped for another valid point: another shared secret, the tag fails
      const fresh = outerHeader(writer.generate('y')).epk;
      throwsCode(
        () => reader.read(withOuterHeader(t, (h) => Object.assign(h, { epk: fresh }))),
        'ERR_OFFLINE_TOKEN_INVALID',
      );
    });

    it('a hostile epk is refused before any decryption', () => {
      const t = writer.generate('x');
      const edits: Array<[string, (h: Record<string, unknown>) => void, string]> = [
        [
          'private member',
          (h) => Object.assign(h.epk as object, { d: 'A'.repeat(43) }),
          'ERR_OFFLINE_TOKEN_MALFORMED',
        ],
        ['missing', (h) => delete h.epk, 'ERR_OFFLINE_TOKEN_MALFORMED'],
        ['not an object', (h) => Object.assign(h, { epk: 'x' }), 'ERR_OFFLINE_TOKEN_MALFORMED'],
        [
          'oversized x',
          (h) => Object.assign(h.epk as object, { x: 'A'.repeat(44) }),
          'ERR_OFFLINE_TOKEN_MALFORMED',
        ],
        ['oversized apu', (h) => Object.assign(h, { apu: 'A'.repeat(100) }), 'ERR_OFFLINE_TOKEN_MALFORMED'],
        [
          'unknown curve',
          (h) => Object.assign(h.epk as object, { crv: 'X448' }),
          'ERR_OFFLINE_TOKEN_MALFORMED',
        ],
      ];
      for (const [name, edit, code] of edits)
        assert.doesNotThrow(() => throwsCode(() => reader.read(withOuterHeader(t, edit)), code), name);
    });

    it('claims and replay work as in the other modes', async () => {
      const clock = fixedClock();
      const w = new OfflineTokenGenerator({
        key: issuer,
        recipient: publicOnly(device),
        clock: clock.clock,
        ttlSeconds: 60,
      });
      const r = new OfflineTokenGenerator({
        key: publicOnly(issuer),
        decryptionKey: device,
        clock: clock.clock,
        audience: 'door-7',
      });
      const store = await openStore('memory:');
      try {
        const t = w.generate({ a: 1 }, { aud: 'door-7' });
        assert.deepEqual(await r.read(t, { consume: store }), { a: 1 });
        await rejectsCode(() => r.read(t, { consume: store }), 'ERR_OFFLINE_TOKEN_REPLAYED');
        throwsCode(() => r.read(w.generate(1, { aud: 'door-8' })), 'ERR_OFFLINE_TOKEN_AUDIENCE');
        const c5 = w.generate(undefined, { aud: 'door-7', device: 'd', ctr: 5 });
        const c4 = w.generate(undefined, { aud: 'door-7', device: 'd', ctr: 4 });
        await r.read(c5, { consume: store });
        await rejectsCode(() => r.read(c4, { consume: store }), 'ERR_OFFLINE_COUNTER_REPLAYED');
        const old = w.generate(1, { aud: 'door-7' });
        clock.add(61);
        throwsCode(() => r.read(old), 'ERR_OFFLINE_TOKEN_EXPIRED');
        throwsCode(
          () => r.read(w.generate(1, { aud: 'door-7', nbf: clock.clock() + 30 })),
          'ERR_OFFLINE_TOKEN_NOT_YET_VALID',
        );
      } finally {
        await store.close();
      }
    });
  });
}

describe('nested tokens: envelope rules', () => {
  const issuer = signedKey();
  const device = deviceKey();
  const reader = new OfflineTokenGenerator({ key: publicOnly(issuer), decryptionKey: device });
  const writer = new OfflineTokenGenerator({ key: issuer, recipient: publicOnly(device) });

  it('other modes are ERR_OFFLINE_TOKEN_WRONG_MODE both ways', () => {
    const signed = new OfflineTokenGenerator({ key: issuer });
    throwsCode(() => reader.read(signed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => signed.read(writer.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
  });

  it('refuses a nested JWE without cty JWT, or with another enc, or another typ', async () => {
    throwsCode(
      () => reader.read(withOuterHeader(writer.generate('x'), (h) => delete h.cty)),
      'ERR_OFFLINE_TOKEN_INVALID',
    );
    const a128 = await joseNested(issuer, device, { outer: { enc: 'A128GCM' } });
    throwsCode(() => reader.read(a128), 'ERR_OFFLINE_TOKEN_INVALID');
    const typ = await joseNested(issuer, device, { outer: { typ: 'JWT' } });
    throwsCode(() => reader.read(typ), 'ERR_OFFLINE_TOKEN_INVALID');
    // RFC 7515 4.1.11: offline tokens understand no critical extension
    const crit = withOuterHeader(writer.generate('x'), (h) => Object.assign(h, { crit: ['x'], x: 1 }));
    throwsCode(() => reader.read(crit), 'ERR_OFFLINE_TOKEN_INVALID');
  });

  it('the inner token must be an offline JWS signed with EdDSA or ES256', async () => {
    const good = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'EdDSA', typ: OFFLINE_TYP, kid: issuer.kid })
      .sign(issuer.privateKey!);
    const cases: Array<[string, Parameters<typeof joseNested>[2], string]> = [
      ['a JWT minted for something else by the same key', { innerTyp: 'JWT' }, 'ERR_OFFLINE_TOKEN_INVALID'],
      ['plain claims JSON, not a JWS', { inner: '{"sub":"x"}' }, 'ERR_OFFLINE_TOKEN_MALFORMED'],
      ['a JWS whose signature is cut short', { inner: good.slice(0, -4) }, 'ERR_OFFLINE_TOKEN_TRUNCATED'],
      ['a nested token inside a nested token', { inner: writer.generate('x') }, 'ERR_OFFLINE_TOKEN_INVALID'],
    ];
    for (const [name, o, code] of cases) {
      const t = await joseNested(issuer, device, o);
      assert.doesNotThrow(() => throwsCode(() => reader.read(t), code), name);
    }
  });

  it('an HS256 inner token is refused: a nested token is signed with a key pair', async () => {
    const t = await joseNested(issuer, device, { alg: 'HS256', signWith: macKey(issuer.kid) });
    throwsCode(() => reader.read(t), 'ERR_OFFLINE_TOKEN_INVALID');
  });

  it("an inner alg that does not fit the reader's issuer key is ERR_OFFLINE_TOKEN_WRONG_KEY, not a crash", async () => {
    const es = es256Key(issuer.kid);
    const esReader = new OfflineTokenGenerator({ key: publicOnly(es), decryptionKey: device });
    throwsCode(() => esReader.read(writer.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
    const esToken = await joseNested(es, device);
    throwsCode(() => reader.read(esToken), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
  });

  it('reads with a keyring of issuer public keys, by the inner kid (rotation)', () => {
    const next = signedKey();
    const ring = new Keyring({ verifyOnly: [publicOnly(issuer), publicOnly(next)] });
    const r = new OfflineTokenGenerator({ keyring: ring, decryptionKey: device });
    assert.equal(r.mode, 'nested');
    const w2 = new OfflineTokenGenerator({ key: next, recipient: publicOnly(device) });
    assert.equal(r.verify(w2.generate('new')).kid, next.kid);
    assert.equal(r.verify(writer.generate('old')).kid, issuer.kid);
  });

  it('one generator mints for many readers with a per-token recipient', () => {
    const gen = new OfflineTokenGenerator({ key: issuer, mode: 'nested' });
    throwsCode(() => gen.generate('x'), 'ERR_INVALID_ARGUMENT');
    const other = deviceKey();
    const t = gen.generate('x', { recipient: publicOnly(other) });
    assert.equal(new OfflineTokenGenerator({ key: issuer, decryptionKey: other }).read(t), 'x');
    throwsCode(() => reader.read(t), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
  });

  it('refuses misconfigured keys with ERR_INVALID_ARGUMENT', () => {
    throwsCode(() => new OfflineTokenGenerator({ key: device, recipient: device }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new OfflineTokenGenerator({ key: issuer, recipient: issuer }), 'ERR_INVALID_ARGUMENT');
    throwsCode(
      () => new OfflineTokenGenerator({ key: issuer, decryptionKey: publicOnly(device) }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => new OfflineTokenGenerator({ secret: 'a passphrase here', mode: 'nested' }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => new OfflineTokenGenerator({ key: issuer, mode: 'signed', recipient: device }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => new OfflineTokenGenerator({ key: issuer }).generate('x', { recipient: device }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => new OfflineTokenGenerator({ key: publicOnly(issuer), mode: 'nested' }).read(writer.generate('x')),
      'ERR_INVALID_ARGUMENT',
    );
  });

  it('an oversized token is ERR_OFFLINE_TOKEN_TOO_LARGE', () => {
    throwsCode(
      () => reader.read(`${writer.generate('x')}${'A'.repeat(9000)}`),
      'ERR_OFFLINE_TOKEN_TOO_LARGE',
    );
  });
});

interface PinnedCase {
  name: string;
  issuerPublicJwk: Jwk;
  devicePrivateJwk: Jwk;
  audience: string;
  readAt: number;
  token: string;
  claims: Record<string, unknown>;
}

const pinned = JSON.parse(readFileSync(new URL('./vectors/nested-tokens.json', import.meta.url), 'utf8')) as {
  cases: PinnedCase[];
};

describe('nested tokens: pinned wire format (test/offline/vectors/nested-tokens.json)', () => {
  for (const v of pinned.cases)
    it(`${v.name}: reads the token as first written, with the same claims`, () => {
      const r = new OfflineTokenGenerator({
        key: importJwk(v.issuerPublicJwk, { public: true }),
        decryptionKey: importJwk(v.devicePrivateJwk),
        audience: v.audience,
        clock: () => v.readAt,
      }).verify(v.token);
      assert.deepEqual(r.claims, v.claims);
      assert.equal(r.kid, v.issuerPublicJwk.kid);
    });
});

describe('nested tokens: random damage', () => {
  it('none of 3000 random mutations crashes the reader: each is a typed error or the original claims', () => {
    const issuer = signedKey();
    const device = deviceKey();
    const clock = fixedClock();
    const token = new OfflineTokenGenerator({ key: issuer, recipient: device, clock: clock.clock }).generate(
      { a: 1 },
      { sub: 'u', act: 'open' },
    );
    const reader = new OfflineTokenGenerator({
      key: publicOnly(issuer),
      decryptionKey: device,
      clock: clock.clock,
    });
    const original = JSON.stringify(reader.verify(token).claims);
    // xorshift32, seeded: the same mutations on every run
    let s = 0x2545f491;
    const rnd = (n: number) => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % n;
    };
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u0000é€😀';
    const codes = new Set<string>();
    for (let n = 0; n < 3000; n++) {
      const chars = token.split('');
      const op = rnd(4);
      const at = rnd(chars.length);
      if (op === 0) chars[at] = alphabet[rnd(alphabet.length)]!;
      else if (op === 1) chars.splice(at, 1 + rnd(8));
      else if (op === 2) chars.splice(at, 0, alphabet[rnd(alphabet.length)]!);
      else chars.length = at;
      try {
        const r = reader.verify(chars.join(''));
        assert.equal(JSON.stringify(r.claims), original, `mutation ${n} was accepted with other claims`);
        codes.add('ok');
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof OfftokenError, `not a typed error: ${String(e)}`);
        assert.match(e.code, /^ERR_OFFLINE_TOKEN_/);
        codes.add(e.code);
      }
    }
    assert.ok(codes.has('ERR_OFFLINE_TOKEN_INVALID') && codes.has('ERR_OFFLINE_TOKEN_MALFORMED'));
  });
});
