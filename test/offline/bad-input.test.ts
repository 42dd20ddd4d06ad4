import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactEncrypt, CompactSign, SignJWT } from 'jose';
import { OFFLINE_TYP, OfflineTokenGenerator } from '../../src/offline/index.js';
import { macKey, sealedKey, signedKey, throwsCode } from './helpers.js';

function flip(token: string, part: number): string {
  const parts = token.split('.');
  const p = parts[part]!;
  // change a character in the middle so the change stays inside the decoded bytes
  const i = Math.floor(p.length / 2);
  parts[part] = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
  return parts.join('.');
}

const modes = [
  ['sealed', sealedKey(), [0, 2, 3, 4]],
  ['signed', signedKey(), [0, 1, 2]],
  ['mac', macKey(), [0, 1, 2]],
] as const;

describe('bad input: each fails with its own code, none crashes the reader', () => {
  for (const [mode, key, parts] of modes) {
    const gen = new OfflineTokenGenerator({ key });
    const token = gen.generate({ a: 1 }, { sub: 'u' });

    it(`${mode}: tampered segments -> ERR_OFFLINE_TOKEN_INVALID`, () => {
      for (const p of parts) throwsCode(() => gen.read(flip(token, p)), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it(`${mode}: truncated -> ERR_OFFLINE_TOKEN_INVALID`, () => {
      throwsCode(() => gen.read(token.slice(0, -5)), 'ERR_OFFLINE_TOKEN_INVALID');
      throwsCode(() => gen.read(token.split('.').slice(0, -1).join('.')), 'ERR_OFFLINE_TOKEN_INVALID');
      throwsCode(() => gen.read(token.slice(0, token.indexOf('.'))), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it(`${mode}: re-ordered segments -> ERR_OFFLINE_TOKEN_INVALID`, () => {
      const p = token.split('.');
      const swapped = [...p];
      [swapped[1], swapped[2]] = [p[2]!, p[1]!];
      throwsCode(() => gen.read(swapped.join('.')), 'ERR_OFFLINE_TOKEN_INVALID');
      throwsCode(() => gen.read([...p].reverse().join('.')), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it(`${mode}: wrong key -> ERR_OFFLINE_TOKEN_INVALID`, () => {
      const other = mode === 'sealed' ? sealedKey() : mode === 'signed' ? signedKey() : macKey();
      throwsCode(() => new OfflineTokenGenerator({ key: other }).read(token), 'ERR_OFFLINE_TOKEN_INVALID');
    });

    it(`${mode}: oversized -> ERR_OFFLINE_TOKEN_TOO_LARGE`, () => {
      throwsCode(() => gen.read(`${token}${'A'.repeat(9000)}`), 'ERR_OFFLINE_TOKEN_TOO_LARGE');
      throwsCode(() => gen.generate({ blob: 'x'.repeat(9000) }), 'ERR_OFFLINE_TOKEN_TOO_LARGE');
    });

    it(`${mode}: garbage -> ERR_OFFLINE_TOKEN_INVALID`, () => {
      for (const g of [
        '',
        '.',
        '....',
        'a.b.c',
        'a.b.c.d.e',
        '!!!.???.***',
        'eyJhbGciOiJub25lIn0.e30.',
        '\u0000',
      ])
        throwsCode(() => gen.read(g), 'ERR_OFFLINE_TOKEN_INVALID');
    });
  }

  it('a token of another mode -> ERR_OFFLINE_TOKEN_WRONG_MODE', () => {
    const sealed = new OfflineTokenGenerator({ key: sealedKey() });
    const signed = new OfflineTokenGenerator({ key: signedKey() });
    const mac = new OfflineTokenGenerator({ key: macKey() });
    throwsCode(() => signed.read(mac.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => mac.read(signed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => sealed.read(signed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
    throwsCode(() => mac.read(sealed.generate('x')), 'ERR_OFFLINE_TOKEN_WRONG_MODE');
  });

  it('alg none -> ERR_OFFLINE_TOKEN_INVALID', () => {
    const mac = new OfflineTokenGenerator({ key: macKey() });
    const h = Buffer.from(JSON.stringify({ alg: 'none', typ: OFFLINE_TYP })).toString('base64url');
    const p = Buffer.from(JSON.stringify({ jti: 'x'.repeat(22), iat: 1, nbf: 1, exp: 9e9 })).toString(
      'base64url',
    );
    throwsCode(() => mac.read(`${h}.${p}.`), 'ERR_OFFLINE_TOKEN_INVALID');
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
    throwsCode(() => mac.read(42 as unknown as string), 'ERR_INVALID_ARGUMENT');
    assert.ok(true);
  });
});
