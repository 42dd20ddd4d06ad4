import assert from 'node:assert/strict';
import { randomBytes, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { CompactEncrypt, CompactSign, SignJWT } from 'jose';
import { OfftokenError } from '../../src/errors/base.js';
import { Keyring } from '../../src/keys/index.js';
import type { OfftokenKey } from '../../src/keys/types.js';
import { OFFLINE_TYP, OfflineTokenGenerator } from '../../src/offline/index.js';
import { MemoryStore } from '../../src/stores/index.js';
import { fixedClock, macKey, rejectsCode, sealedKey, signedKey, throwsCode } from './helpers.js';

/** Changes one character in the middle of a segment, staying inside the base64url alphabet and the decoded bytes. */
function flip(token: string, part: number): string {
  const parts = token.split('.');
  const p = parts[part]!;
  const i = Math.floor(p.length / 2);
  parts[part] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  return parts.join('.');
}

/** Re-encodes the protected header with one more member: still valid JSON, but no longer what was signed. */
function editHeader(token: string): string {
  const parts = token.split('.');
  const h = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
  parts[0] = Buffer.from(JSON.stringify({ ...h, x: 1 })).toString('base64url');
  return parts.join('.');
}

function swap(token: string, i: number, j: number): string {
  const p = token.split('.');
  [p[i], p[j]] = [p[j]!, p[i]!];
  return p.join('.');
}

const newKey: Record<'sealed' | 'signed' | 'mac', () => OfftokenKey> = {
  sealed: () => sealedKey(256),
  signed: () => signedKey(),
  mac: () => macKey(),
};

// Segment layout per mode: which segments carry authenticated content, and the re-orderings to try.
const layout = {
  sealed: {
    tamper: [2, 3, 4],
    swaps: [
      [2, 4],
      [3, 4],
      [2, 3],
      [0, 3],
    ],
  },
  signed: {
    tamper: [1, 2],
    swaps: [
      [1, 2],
      [0, 1],
      [0, 2],
    ],
  },
  mac: {
    tamper: [1, 2],
    swaps: [
      [1, 2],
      [0, 1],
      [0, 2],
    ],
  },
} as const;

for (const mode of ['sealed', 'signed', 'mac'] as const) {
  describe(`bad input, ${mode}: each kind of damage has its own code`, () => {
    const key = newKey[mode]();
    const c = fixedClock();
    const gen = new OfflineTokenGenerator({ key, ttlSeconds: 60, clock: c.clock });
    const token = gen.generate({ a: 1 }, { sub: 'u', act: 'open', params: { door: 'B12' } });

    it('the untouched token reads', () => {
      assert.deepEqual(gen.read(token), { a: 1 });
    });

    it('tampered content -> ERR_OFFLINE_TOKEN_INVALID', () => {
      for (const p of layout[mode].tamper)
        throwsCode(() => gen.read(flip(token, p)), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it('tampered header -> ERR_OFFLINE_TOKEN_INVALID', () => {
      throwsCode(() => gen.read(editHeader(token)), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it('truncated -> ERR_OFFLINE_TOKEN_TRUNCATED', () => {
      const parts = token.split('.');
      for (const cut of [
        token.slice(0, -1),
        token.slice(0, -5),
        token.slice(0, token.lastIndexOf('.') + 1),
        token.slice(0, token.lastIndexOf('.')),
        parts.slice(0, 2).join('.'),
        parts[0]!,
      ])
        throwsCode(() => gen.read(cut), 'ERR_OFFLINE_TOKEN_TRUNCATED');
    });

    it('re-ordered segments -> ERR_OFFLINE_TOKEN_MALFORMED', () => {
      for (const [i, j] of layout[mode].swaps)
        throwsCode(() => gen.read(swap(token, i, j)), 'ERR_OFFLINE_TOKEN_MALFORMED');
      throwsCode(() => gen.read(token.split('.').reverse().join('.')), 'ERR_OFFLINE_TOKEN_MALFORMED');
    });

    it('another key (another kid) -> ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
      throwsCode(
        () => new OfflineTokenGenerator({ key: newKey[mode]() }).read(token),
        'ERR_OFFLINE_TOKEN_WRONG_KEY',
      );
    });

    it('a keyring without the token kid -> ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
      const ring = new Keyring({ active: newKey[mode]() });
      throwsCode(
        () => new OfflineTokenGenerator({ keyring: ring }).read(token),
        'ERR_OFFLINE_TOKEN_WRONG_KEY',
      );
    });

    it('other key material under the same kid -> ERR_OFFLINE_TOKEN_INVALID (cannot be told from tampering)', () => {
      const impostor = { ...newKey[mode](), kid: key.kid };
      throwsCode(() => new OfflineTokenGenerator({ key: impostor }).read(token), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it('expired -> ERR_OFFLINE_TOKEN_EXPIRED', () => {
      const late = new OfflineTokenGenerator({ key, clock: () => c.clock() + 60 });
      throwsCode(() => late.read(token), 'ERR_OFFLINE_TOKEN_EXPIRED');
    });

    it('not yet valid -> ERR_OFFLINE_TOKEN_NOT_YET_VALID', () => {
      const early = new OfflineTokenGenerator({ key, clock: () => c.clock() - 1 });
      throwsCode(() => early.read(token), 'ERR_OFFLINE_TOKEN_NOT_YET_VALID');
      const future = gen.generate('x', { nbf: c.clock() + 30 });
      throwsCode(() => gen.read(future), 'ERR_OFFLINE_TOKEN_NOT_YET_VALID');
    });

    it('replayed -> ERR_OFFLINE_TOKEN_REPLAYED', async () => {
      const store = new MemoryStore();
      const t = gen.generate('once');
      assert.equal(await gen.read(t, { consume: store }), 'once');
      await rejectsCode(() => gen.read(t, { consume: store }), 'ERR_OFFLINE_TOKEN_REPLAYED');
      await store.close();
    });

    it('oversized -> ERR_OFFLINE_TOKEN_TOO_LARGE, on read and on generate', () => {
      throwsCode(() => gen.read(`${token}${'A'.repeat(9000)}`), 'ERR_OFFLINE_TOKEN_TOO_LARGE');
      throwsCode(() => gen.read('A'.repeat(8193)), 'ERR_OFFLINE_TOKEN_TOO_LARGE');
      throwsCode(() => gen.generate({ blob: 'x'.repeat(9000) }), 'ERR_OFFLINE_TOKEN_TOO_LARGE');
    });

    it('not a token at all -> ERR_OFFLINE_TOKEN_MALFORMED', () => {
      for (const g of [
        '',
        '.',
        '....',
        'a.b.c',
        'a.b.c.d.e',
        '!!!.???.***',
        '\u0000',
        'e30.e30.e30',
        `${'A'.repeat(2000)}.x.y`,
      ])
        throwsCode(() => gen.read(g), 'ERR_OFFLINE_TOKEN_MALFORMED');
    });

    it('a re-spelt final character (same bytes, non-zero unused bits) -> ERR_OFFLINE_TOKEN_MALFORMED', () => {
      const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const parts = token.split('.');
      // sealed: ciphertext (when its length leaves unused bits) and tag; signed/mac: the signature
      const segs = mode === 'sealed' ? [3, 4] : [2];
      let tried = 0;
      for (const i of segs) {
        const seg = parts[i]!;
        const unused = (seg.length * 6) % 8;
        if (unused === 0) continue;
        const v = abc.indexOf(seg.at(-1)!);
        const respelt = [...parts];
        respelt[i] = seg.slice(0, -1) + abc[v | 1]!;
        if (respelt[i] === seg) respelt[i] = seg.slice(0, -1) + abc[v & ~1]!;
        assert.deepEqual(Buffer.from(respelt[i]!, 'base64url'), Buffer.from(seg, 'base64url'));
        throwsCode(() => gen.read(respelt.join('.')), 'ERR_OFFLINE_TOKEN_MALFORMED');
        tried++;
      }
      assert.ok(tried >= 1);
    });

    it('extra segments -> ERR_OFFLINE_TOKEN_MALFORMED', () => {
      throwsCode(() => gen.read(`${token}.AAAA`), 'ERR_OFFLINE_TOKEN_MALFORMED');
    });

    it('none of 3000 random mutations crashes the reader: each is a typed error or the original claims, byte for byte', () => {
      const original = JSON.stringify(gen.verify(token).claims);
      // xorshift32, seeded: the same mutations on every run
      let s = 0x9e3779b9;
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
        const t = chars.join('');
        try {
          // An accepted mutation must decode to exactly what was issued (e.g. a change the format ignores),
          // never to other claims.
          const r = gen.verify(t);
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
}

describe('bad input across modes and forms', () => {
  it('a token of another mode -> ERR_OFFLINE_TOKEN_WRONG_MODE', () => {
    const sealed = new OfflineTokenGenerator({ key: sealedKey() });
    const signed = new OfflineTokenGenerator({ key: signedKey() });
    const mac = new OfflineTokenGenerator({ key: macKey() });
    throwsCode(() => signed.read(mac.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => mac.read(signed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => sealed.read(signed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => mac.read(sealed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
  });

  it('a sealed token of another AES size -> ERR_OFFLINE_TOKEN_WRONG_KEY', () => {
    const t = new OfflineTokenGenerator({ key: sealedKey(128, 'k1') }).generate('x');
    throwsCode(
      () => new OfflineTokenGenerator({ key: sealedKey(256, 'k1') }).read(t),
      'ERR_OFFLINE_TOKEN_WRONG_KEY',
    );
  });

  it('positional form: tampered, truncated, re-ordered, wrong password, expired each have their code', () => {
    const c = fixedClock();
    const gen = new OfflineTokenGenerator({ secret: 'pw-one', clock: c.clock, ttlSeconds: 30 });
    const t = gen.generate('x');
    throwsCode(() => gen.read(flip(t, 3)), 'ERR_OFFLINE_TOKEN_INVALID');
    throwsCode(() => gen.read(t.slice(0, -3)), 'ERR_OFFLINE_TOKEN_TRUNCATED');
    throwsCode(() => gen.read(swap(t, 2, 4)), 'ERR_OFFLINE_TOKEN_MALFORMED');
    // A shared secret has no kid (it would fingerprint the password): a wrong one looks like tampering.
    throwsCode(
      () => new OfflineTokenGenerator({ secret: 'pw-two', clock: c.clock }).read(t),
      'ERR_OFFLINE_TOKEN_INVALID',
    );
    c.add(30);
    throwsCode(() => gen.read(t), 'ERR_OFFLINE_TOKEN_EXPIRED');
  });

  it('alg none and foreign algorithms -> ERR_OFFLINE_TOKEN_INVALID', () => {
    const mac = new OfflineTokenGenerator({ key: macKey() });
    const p = Buffer.from(JSON.stringify({ jti: 'x'.repeat(22), iat: 1, nbf: 1, exp: 9e9 })).toString(
      'base64url',
    );
    for (const alg of ['none', 'HS512', 'RS256']) {
      const h = Buffer.from(JSON.stringify({ alg, typ: OFFLINE_TYP })).toString('base64url');
      throwsCode(() => mac.read(`${h}.${p}.`), 'ERR_OFFLINE_TOKEN_INVALID');
    }
  });

  it('a header with a duplicate member -> ERR_OFFLINE_TOKEN_MALFORMED', () => {
    const mac = new OfflineTokenGenerator({ key: macKey() });
    const h = Buffer.from(`{"alg":"HS256","alg":"none","typ":"${OFFLINE_TYP}"}`).toString('base64url');
    throwsCode(() => mac.read(`${h}.e30.${'A'.repeat(43)}`), 'ERR_OFFLINE_TOKEN_MALFORMED');
  });

  it('a JWT minted with the same key for something else (other typ) -> ERR_OFFLINE_TOKEN_INVALID', async () => {
    const key = macKey();
    const jwt = await new SignJWT({ jti: 'x'.repeat(22) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.secretKey!);
    throwsCode(() => new OfflineTokenGenerator({ key }).read(jwt), 'ERR_OFFLINE_TOKEN_INVALID');
  });

  it('a critical header extension -> ERR_OFFLINE_TOKEN_INVALID', () => {
    const key = signedKey();
    const now = Math.floor(Date.now() / 1000);
    const h = Buffer.from(
      JSON.stringify({ alg: 'EdDSA', typ: OFFLINE_TYP, crit: ['x-policy'], 'x-policy': 1 }),
    ).toString('base64url');
    const p = Buffer.from(
      JSON.stringify({ jti: 'c'.repeat(22), iat: now, nbf: now, exp: now + 60 }),
    ).toString('base64url');
    const sig = sign(null, Buffer.from(`${h}.${p}`), key.privateKey!).toString('base64url');
    throwsCode(
      () => new OfflineTokenGenerator({ key }).read(`${h}.${p}.${sig}`),
      'ERR_OFFLINE_TOKEN_INVALID',
    );
  });

  it('an authentic token without exp -> ERR_OFFLINE_TOKEN_CLAIM_INVALID', async () => {
    const key = signedKey();
    const now = Math.floor(Date.now() / 1000);
    const body = new TextEncoder().encode(JSON.stringify({ jti: 'y'.repeat(22), iat: now, nbf: now }));
    const t = await new CompactSign(body)
      .setProtectedHeader({ alg: 'EdDSA', typ: OFFLINE_TYP })
      .sign(key.privateKey!);
    throwsCode(() => new OfflineTokenGenerator({ key }).read(t), 'ERR_OFFLINE_TOKEN_CLAIM_INVALID');
  });

  it('an authentic sealed token whose plaintext is not JSON -> ERR_OFFLINE_TOKEN_CLAIM_INVALID', async () => {
    const key = sealedKey();
    const t = await new CompactEncrypt(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: OFFLINE_TYP })
      .encrypt(key.secretKey!);
    throwsCode(() => new OfflineTokenGenerator({ key }).read(t), 'ERR_OFFLINE_TOKEN_CLAIM_INVALID');
  });

  it('an authentic token with a malformed act -> ERR_OFFLINE_TOKEN_CLAIM_INVALID', async () => {
    const key = macKey();
    const now = Math.floor(Date.now() / 1000);
    for (const act of [[], 'open', { name: '' }, { name: 'pay', params: { amount: 1.5 } }]) {
      const body = JSON.stringify({ jti: 'z'.repeat(22), iat: now, nbf: now, exp: now + 60, act });
      const t = await new CompactSign(new TextEncoder().encode(body))
        .setProtectedHeader({ alg: 'HS256', typ: OFFLINE_TYP })
        .sign(key.secretKey!);
      throwsCode(() => new OfflineTokenGenerator({ key }).read(t), 'ERR_OFFLINE_TOKEN_CLAIM_INVALID');
    }
  });

  it('a deeply nested payload -> ERR_OFFLINE_TOKEN_CLAIM_INVALID', async () => {
    const key = macKey();
    const now = Math.floor(Date.now() / 1000);
    const dat = `${'['.repeat(100)}${']'.repeat(100)}`;
    const body = `{"jti":"${'z'.repeat(22)}","iat":${now},"nbf":${now},"exp":${now + 60},"dat":${dat}}`;
    const t = await new CompactSign(new TextEncoder().encode(body))
      .setProtectedHeader({ alg: 'HS256', typ: OFFLINE_TYP })
      .sign(key.secretKey!);
    throwsCode(() => new OfflineTokenGenerator({ key }).read(t), 'ERR_OFFLINE_TOKEN_CLAIM_INVALID');
  });

  it('a non-string token -> ERR_INVALID_ARGUMENT', () => {
    const mac = new OfflineTokenGenerator({ key: macKey() });
    for (const v of [42, null, undefined, {}, Buffer.from('x')])
      throwsCode(() => mac.read(v as unknown as string), 'ERR_INVALID_ARGUMENT');
  });

  it('the replayed code holds on SQLite too, and a refused token does not consume', async () => {
    const { SqliteStore } = await import('../../src/stores/index.js');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'r.db'));
    const gen = new OfflineTokenGenerator({
      key: macKey(),
      namespace: `t:${randomBytes(4).toString('hex')}`,
    });
    const t = gen.generate('x');
    await rejectsCode(() => gen.read(flip(t, 2), { consume: store }), 'ERR_OFFLINE_TOKEN_INVALID');
    assert.equal(await gen.read(t, { consume: store }), 'x');
    await rejectsCode(() => gen.read(t, { consume: store }), 'ERR_OFFLINE_TOKEN_REPLAYED');
    await store.close();
  });
});
