import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  base32Decode,
  base32Encode,
  buildOtpauthUri,
  generateOtpSecret,
  OtpValidator,
  parseOtpauthUri,
  renderQr,
  writeQrFile,
} from '../../src/otp/index.js';
import { MemoryStore } from '../../src/stores/index.js';

// CommonJS decoders for the QR round trip (jsqr reads pixels, pngjs decodes the PNG), typed here.
const require = createRequire(import.meta.url);
const jsQR = require('jsqr') as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const { PNG } = require('pngjs') as {
  PNG: { sync: { read(b: Buffer): { width: number; height: number; data: Buffer } } };
};

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

describe('base32', () => {
  it('round-trips random bytes of every length, padded or not', () => {
    for (let n = 0; n <= 70; n++) {
      const b = randomBytes(n);
      assert.deepEqual(base32Decode(base32Encode(b)), b);
      assert.deepEqual(base32Decode(base32Encode(b, { padding: false })), b);
    }
  });

  it('forgives lower case, spaces, hyphens and missing padding', () => {
    const b = Buffer.from('12345678901234567890');
    assert.deepEqual(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq'), b);
    assert.deepEqual(base32Decode('GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ'), b);
    assert.deepEqual(base32Decode('MZXW6'), Buffer.from('foo'));
  });

  it('rejects bad characters, misplaced or wrong padding and impossible lengths with ERR_BASE32_INVALID', () => {
    for (const s of [
      'MZXW1',
      'MZXW8',
      'MZ0W6',
      'MZXW6!',
      'MZXW6\n',
      'MZXW6\t',
      'MZ=XW6',
      'MZXW6=',
      'MZXW6====',
      'M',
      'MZX',
      'MZXW6Y',
      'Ä',
    ]) {
      throwsCode(() => base32Decode(s), 'ERR_BASE32_INVALID');
    }
    throwsCode(() => base32Decode(7 as unknown as string), 'ERR_BASE32_INVALID');
  });

  it('rejects oversized input with ERR_INPUT_TOO_LARGE', () => {
    throwsCode(() => base32Decode('A'.repeat(4097)), 'ERR_INPUT_TOO_LARGE');
  });
});

describe('secrets', () => {
  it('come from the CSPRNG at 20 bytes for SHA1 and the hash length otherwise', () => {
    assert.equal(generateOtpSecret().length, 20);
    assert.equal(generateOtpSecret('SHA256').length, 32);
    assert.equal(generateOtpSecret('SHA512').length, 64);
    assert.notDeepEqual(generateOtpSecret(), generateOtpSecret());
    throwsCode(() => generateOtpSecret('SHA1', 8), 'ERR_INVALID_ARGUMENT');
  });
});

describe('otpauth:// Key URI', () => {
  const secret = Buffer.from('12345678901234567890');

  it('builds the Key Uri Format with a URL-encoded issuer:account label', () => {
    assert.equal(
      buildOtpauthUri({ type: 'totp', secret, issuer: 'ACME Co', account: 'jane+doe@example.com' }),
      'otpauth://totp/ACME%20Co%3Ajane%2Bdoe%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30',
    );
    assert.equal(
      buildOtpauthUri({ type: 'hotp', secret, account: 'ü', algorithm: 'SHA512', digits: 8, counter: 42 }),
      'otpauth://hotp/%C3%BC?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA512&digits=8&counter=42',
    );
  });

  it('parses what it builds, and the forms apps emit', () => {
    const key = {
      type: 'totp',
      secret,
      issuer: 'Bank & Co',
      account: 'a b',
      algorithm: 'SHA256',
      digits: 8,
      period: 60,
    } as const;
    assert.deepEqual(parseOtpauthUri(buildOtpauthUri(key)), key);
    assert.deepEqual(
      parseOtpauthUri('otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example'),
      {
        type: 'totp',
        secret: base32Decode('JBSWY3DPEHPK3PXP'),
        account: 'alice@google.com',
        issuer: 'Example',
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
      },
    );
    const h = parseOtpauthUri(
      'OTPAUTH://HOTP/ACME%3A%20%20bob?SECRET=jbswy3dpehpk3pxp&counter=7&algorithm=sha1',
    );
    assert.deepEqual(
      { account: h.account, issuer: h.issuer, counter: h.counter, type: h.type, algorithm: h.algorithm },
      { account: 'bob', issuer: 'ACME', counter: 7, type: 'hotp', algorithm: 'SHA1' },
    );
    assert.equal(
      parseOtpauthUri('otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&image=https%3A%2F%2Fa.b%2Fi.png').account,
      'x',
    );
  });

  it('rejects malformed URIs with ERR_OTPAUTH_URI_INVALID', () => {
    const S = 'secret=JBSWY3DPEHPK3PXP';
    for (const u of [
      '',
      'https://totp/x?secret=JBSWY3DPEHPK3PXP',
      'otpauth:totp/x?secret=JBSWY3DPEHPK3PXP',
      `otpauth://motp/x?${S}`,
      `otpauth://totp/?${S}`,
      `otpauth://totp/x?${S}#frag`,
      `otpauth://totp/x%ZZ?${S}`,
      `otpauth://totp/a:b:c?${S}`,
      `otpauth://totp/:b?${S}`,
      `otpauth://totp/x%0A?${S}`,
      'otpauth://totp/x',
      'otpauth://totp/x?secret=',
      'otpauth://totp/x?secret=JBSWY3DPEHPK3PX1',
      'otpauth://totp/x?secret=JBSWY3DP',
      `otpauth://totp/x?${S}&${S}`,
      `otpauth://totp/x?${S}&algorithm=MD5`,
      `otpauth://totp/x?${S}&digits=5`,
      `otpauth://totp/x?${S}&digits=11`,
      `otpauth://totp/x?${S}&digits=6.0`,
      `otpauth://totp/x?${S}&digits=-6`,
      `otpauth://totp/x?${S}&period=0`,
      `otpauth://totp/x?${S}&period=99999999999999999999`,
      `otpauth://hotp/x?${S}`,
      `otpauth://hotp/x?${S}&counter=-1`,
      `otpauth://totp/A:x?${S}&issuer=B`,
      `otpauth://totp/x?${S}&issuer=a%3Ab`,
      `otpauth://totp/x?${S}${'&p='.repeat(40)}`,
    ]) {
      throwsCode(() => parseOtpauthUri(u), 'ERR_OTPAUTH_URI_INVALID');
    }
    throwsCode(() => parseOtpauthUri(null as unknown as string), 'ERR_OTPAUTH_URI_INVALID');
    throwsCode(() => parseOtpauthUri(`otpauth://totp/x?${S}&x=${'a'.repeat(5000)}`), 'ERR_INPUT_TOO_LARGE');
  });

  it('refuses to build an ambiguous or out-of-range URI with ERR_INVALID_ARGUMENT', () => {
    const ok = { type: 'totp', secret, account: 'a' } as const;
    for (const bad of [
      { account: 'a:b' },
      { issuer: 'i:j' },
      { account: '' },
      { account: 'a\nb' },
      { secret: randomBytes(9) },
      { digits: 5 },
      { period: 0 },
      { type: 'motp' },
    ]) {
      throwsCode(() => buildOtpauthUri({ ...ok, ...bad } as never), 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('otpauth:// labels and size (issue 17 items 9 and 10)', () => {
  const secret = Buffer.from('12345678901234567890');
  const longIssuer = 'é'.repeat(256);
  const longAccount = 'ü'.repeat(256);

  it("refuses to build a URI longer than the parser takes, with the parser's ERR_INPUT_TOO_LARGE", () => {
    // 256 + 256 two-byte characters percent-encode (with the issuer parameter) to a 4,708-character URI
    throwsCode(
      () => buildOtpauthUri({ type: 'totp', secret, issuer: longIssuer, account: longAccount }),
      'ERR_INPUT_TOO_LARGE',
    );
    throwsCode(
      () =>
        buildOtpauthUri({ type: 'totp', secret: randomBytes(1024), issuer: 'é'.repeat(200), account: 'x' }),
      'ERR_INPUT_TOO_LARGE',
    );
  });

  it('never builds a URI the parser refuses (random names, secrets and parameters)', () => {
    const pieces = [
      'a',
      'Z',
      ' ',
      'é',
      'ü',
      '漢',
      '😀',
      '%',
      '+',
      '&',
      '=',
      '?',
      '#',
      '/',
      'A',
      '\u00a0',
      '\u200b',
    ];
    const name = (n: number) =>
      Array.from({ length: n }, () => pieces[Math.floor(Math.random() * pieces.length)]).join('');
    let built = 0;
    for (let i = 0; i < 400; i++) {
      const key = {
        type: i % 2 === 0 ? 'totp' : 'hotp',
        secret: randomBytes(10 + Math.floor(Math.random() * 300)),
        account: name(1 + Math.floor(Math.random() * 120)),
        ...(i % 3 === 0 ? {} : { issuer: name(1 + Math.floor(Math.random() * 120)) }),
        digits: 6 + (i % 5),
      } as const;
      let uri: string;
      try {
        uri = buildOtpauthUri(key);
      } catch (e) {
        // only the refusals the parser has too
        assert.ok(['ERR_INPUT_TOO_LARGE', 'ERR_OTP_LABEL_INVALID'].includes((e as { code: string }).code));
        continue;
      }
      built++;
      const k = parseOtpauthUri(uri);
      assert.deepEqual(k.secret, key.secret);
      assert.equal(k.issuer, 'issuer' in key ? key.issuer : undefined);
      // the format lets spaces follow the label's colon, so the parser drops them
      assert.equal(k.account, 'issuer' in key ? key.account.replace(/^ +/, '') : key.account);
    }
    assert.ok(built > 100, `only ${built} of 400 built`);
  });

  it('refuses bidi controls and invisible-only names with ERR_OTP_LABEL_INVALID, built or parsed', () => {
    const S = 'secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    for (const bad of [
      '\u202eEMCA', // displays as ACME
      'ACME\u202c',
      'a\u2066b',
      '\u2069',
      'x\u200e',
      '\u200fy',
      'a\u061cb',
      '\u202a\u202b\u202d',
      '\u200b', // zero-width space only
      '\u200b\u200c\u200d\u2060\ufeff',
      ' ',
      '\u00a0\u3000',
      '\u2800',
      '\u3164',
      '\ud800x', // a lone surrogate
    ]) {
      throwsCode(() => buildOtpauthUri({ type: 'totp', secret, account: bad }), 'ERR_OTP_LABEL_INVALID');
      throwsCode(
        () => buildOtpauthUri({ type: 'totp', secret, issuer: bad, account: 'bob' }),
        'ERR_OTP_LABEL_INVALID',
      );
      if (bad.includes('\ud800')) continue; // cannot be percent-encoded as UTF-8, so no URI carries it
      const enc = encodeURIComponent(bad);
      throwsCode(() => parseOtpauthUri(`otpauth://totp/${enc}?${S}`), 'ERR_OTP_LABEL_INVALID');
      throwsCode(() => parseOtpauthUri(`otpauth://totp/${enc}:bob?${S}`), 'ERR_OTP_LABEL_INVALID');
      throwsCode(() => parseOtpauthUri(`otpauth://totp/bob?${S}&issuer=${enc}`), 'ERR_OTP_LABEL_INVALID');
    }
    // visible text with a zero-width joiner (emoji sequences) or a non-breaking space inside is fine
    for (const good of ['👩\u200d💻', 'Jane\u00a0Doe', 'ACME\u200b Corp']) {
      const uri = buildOtpauthUri({ type: 'totp', secret, issuer: 'ACME', account: good });
      assert.equal(parseOtpauthUri(uri).account, good);
    }
  });

  it('enrolment stores nothing when the label or URI is refused, so the id can be used again', async () => {
    const store = new MemoryStore();
    const v = new OtpValidator({ store, storeKey: randomBytes(32) });
    await assert.rejects(v.enroll({ id: 'u', issuer: longIssuer, account: longAccount }), {
      code: 'ERR_INPUT_TOO_LARGE',
    });
    // fits a URI (3,000 characters) but not a QR code
    const midIssuer = 'é'.repeat(150);
    const midAccount = 'ü'.repeat(150);
    await assert.rejects(v.enroll({ id: 'u', issuer: midIssuer, account: midAccount, qr: true }), {
      code: 'ERR_INPUT_TOO_LARGE',
    });
    await assert.rejects(v.enroll({ id: 'u', issuer: 'ACME', account: '\u202eEMCA' }), {
      code: 'ERR_OTP_LABEL_INVALID',
    });
    await assert.rejects(v.enroll({ id: '\u200b' }), { code: 'ERR_OTP_LABEL_INVALID' });
    assert.equal(await store.getCredential('u'), undefined);
    assert.equal(await store.getCredential('\u200b'), undefined);
    const { uri } = await v.enroll({ id: 'u', issuer: midIssuer, account: midAccount });
    assert.ok(uri.length > 2048 && uri.length <= 4096);
    assert.equal(parseOtpauthUri(uri).account, midAccount);
  });
});

describe('QR codes', () => {
  const uri = buildOtpauthUri({
    type: 'totp',
    secret: randomBytes(64),
    issuer: 'ACME',
    account: 'alice@example.com',
    algorithm: 'SHA512',
  });

  it('encode the URI (PNG decoded back with jsQR), also as SVG and for the terminal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'offtoken-qr-'));
    await writeQrFile(uri, join(dir, 'k.png'), 'png');
    await writeQrFile(uri, join(dir, 'k.svg'), 'svg');
    assert.equal(statSync(join(dir, 'k.png')).mode & 0o777, 0o600);
    const png = PNG.sync.read(readFileSync(join(dir, 'k.png')));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, uri);
    assert.match(readFileSync(join(dir, 'k.svg'), 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const term = await renderQr(uri, 'terminal');
    assert.ok(term.split('\n').length > 20);
  });

  it('refuses oversized text with ERR_INPUT_TOO_LARGE', async () => {
    await assert.rejects(renderQr('x'.repeat(3000), 'svg'), { code: 'ERR_INPUT_TOO_LARGE' });
  });
});

describe('OtpValidator.enroll and the Key URI', () => {
  it('checks the label before storing anything: an id with a colon needs an explicit account', async () => {
    const store = new MemoryStore();
    const v = new OtpValidator({ store, storeKey: randomBytes(32) });
    await assert.rejects(v.enroll({ id: 'tenant:alice', issuer: 'ACME' }), { code: 'ERR_INVALID_ARGUMENT' });
    assert.equal(await store.getCredential('tenant:alice'), undefined);
    const { uri, secret } = await v.enroll({ id: 'tenant:alice', issuer: 'ACME', account: 'alice' });
    const k = parseOtpauthUri(uri);
    assert.deepEqual([k.issuer, k.account, k.type, k.period], ['ACME', 'alice', 'totp', 30]);
    assert.deepEqual(k.secret, Buffer.from(secret));
  });
});
