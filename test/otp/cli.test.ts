import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { base32Encode, hotp, parseOtpauthUri } from '../../src/otp/index.js';
import { cli as runCli } from '../cli/helpers.js';

// CommonJS decoders for the QR round trip (jsqr reads pixels, pngjs decodes the PNG), typed here.
const require = createRequire(import.meta.url);
const jsQR = require('jsqr') as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const { PNG } = require('pngjs') as {
  PNG: { sync: { read(b: Buffer): { width: number; height: number; data: Buffer } } };
};

function cli(args: string[], input?: string) {
  const r = runCli(args, input !== undefined ? { input } : {});
  return { status: r.code, out: r.stdout, err: r.stderr };
}

function rejected(r: ReturnType<typeof cli>, status: number, code: string): void {
  assert.equal(r.status, status, r.err);
  assert.equal(r.out, '');
  assert.equal(JSON.parse(r.err).error.code, code);
}

const seed20 = Buffer.from('12345678901234567890');
const seed32 = Buffer.from('12345678901234567890123456789012');
const seed64 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');
const K32 = seed32.toString('hex');
const K64 = seed64.toString('hex');

describe('offtoken otp code', () => {
  it('prints RFC 6238 Appendix B codes for --time (SHA1, SHA256, SHA512)', () => {
    const runs: [Buffer, string, string][] = [
      [seed20, 'SHA1', '07081804'],
      [seed32, 'SHA256', '68084774'],
      [seed64, 'SHA512', '25091201'],
    ];
    for (const [seed, alg, code] of runs) {
      const r = cli([
        'otp',
        'code',
        '--secret',
        base32Encode(seed),
        '--time',
        '1111111109',
        '--digits',
        '8',
        '--algorithm',
        alg,
      ]);
      assert.equal(r.status, 0, r.err);
      assert.equal(r.out, `${code}\n`);
    }
  });

  it('prints RFC 4226 HOTP codes for --hotp --counter, and JSON with --json', () => {
    const b32 = base32Encode(seed20, { padding: false }).toLowerCase();
    const r = cli(['otp', 'code', '--secret', b32, '--hotp', '--counter', '9', '--json']);
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { code: '520489', counter: 9 });
    const t = cli(
      ['otp', 'code', '--secret', '-', '--time', '59', '--period', '60', '--json'],
      base32Encode(seed20),
    );
    assert.deepEqual(JSON.parse(t.out), { code: hotp(seed20, 0), step: 0, period: 60, remaining: 1 });
  });

  it('rejects bad secrets (exit 1) and bad usage (exit 2) with their codes', () => {
    rejected(cli(['otp', 'code', '--secret', 'GEZDGNBV1']), 1, 'ERR_BASE32_INVALID');
    rejected(cli(['otp', 'code', '--secret', 'GEZDGNBV']), 1, 'ERR_INVALID_ARGUMENT');
    rejected(cli(['otp', 'code', '--secret', 'A'.repeat(5000)]), 1, 'ERR_INPUT_TOO_LARGE');
    const s = base32Encode(seed20);
    rejected(cli(['otp', 'code', '--secret', s, '--digits', '5']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code', '--secret', s, '--digits', 'six']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code', '--secret', s, '--algorithm', 'MD5']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code', '--secret', s, '--hotp']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code', '--secret', s, '--counter', '1']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code', '--secret', s, '--hotp', '--counter', '1', '--time', '5']), 2, 'ERR_USAGE');
    rejected(cli(['otp', 'code']), 2, 'ERR_USAGE');
  });
});

describe('offtoken otp ocra', () => {
  it('prints RFC 6287 Appendix C responses (counter, PIN, PIN hash, hex time stamp, QA)', () => {
    const ok = (args: string[], want: string) => {
      const r = cli(['otp', 'ocra', ...args]);
      assert.equal(r.status, 0, r.err);
      assert.equal(r.out, `${want}\n`);
    };
    ok(
      ['--suite', 'OCRA-1:HOTP-SHA1-6:QN08', '--key-hex', K32.slice(0, 40), '--question', '33333333'],
      '740991',
    );
    ok(
      [
        '--suite',
        'OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1',
        '--key-hex',
        K32,
        '--counter',
        '9',
        '--question',
        '12345678',
        '--pin',
        '1234',
      ],
      '08522129',
    );
    ok(
      [
        '--suite',
        'OCRA-1:HOTP-SHA256-8:QN08-PSHA1',
        '--key-hex',
        K32,
        '--question',
        '44444444',
        '--pin-hash',
        '7110eda4d09e062aa5e4a390b0a572ac0d2c0220',
      ],
      '86807031',
    );
    ok(
      [
        '--suite',
        'OCRA-1:HOTP-SHA512-8:QA10-T1M',
        '--key-hex',
        K64,
        '--question',
        'SIG1400000',
        '--timestamp',
        '0x132d0b6',
      ],
      '65360607',
    );
    const j = cli([
      'otp',
      'ocra',
      '--suite',
      'OCRA-1:HOTP-SHA512-8:QN08-T1M',
      '--key-hex',
      K64,
      '--question',
      '22222222',
      '--timestamp',
      String(0x132d0b6),
      '--json',
    ]);
    assert.deepEqual(JSON.parse(j.out), { suite: 'OCRA-1:HOTP-SHA512-8:QN08-T1M', response: '22048402' });
  });

  it('rejects bad suites, inputs and keys with their codes', () => {
    const key = ['--key-hex', K32];
    rejected(
      cli(['otp', 'ocra', '--suite', 'OCRA-1:HOTP-SHA1-6:QX08', ...key, '--question', '1']),
      1,
      'ERR_OCRA_SUITE_INVALID',
    );
    rejected(
      cli(['otp', 'ocra', '--suite', 'OCRA-1:HOTP-SHA1-6:QN08-PSHA1', ...key, '--question', '1234']),
      1,
      'ERR_OCRA_INPUT_INVALID',
    );
    rejected(cli(['otp', 'ocra', '--suite', 'OCRA-1:HOTP-SHA1-6:QN08', ...key]), 1, 'ERR_OCRA_INPUT_INVALID');
    rejected(
      cli(['otp', 'ocra', '--suite', 'OCRA-1:HOTP-SHA1-6:QN08', '--key-hex', 'xyz0', '--question', '1']),
      1,
      'ERR_ENCODING_INVALID',
    );
    rejected(
      cli([
        'otp',
        'ocra',
        '--suite',
        'OCRA-1:HOTP-SHA1-6:QN08',
        ...key,
        '--question',
        '1',
        '--pin',
        '1',
        '--pin-hash',
        '00',
      ]),
      2,
      'ERR_USAGE',
    );
    rejected(
      cli([
        'otp',
        'ocra',
        '--suite',
        'OCRA-1:HOTP-SHA1-6:C-QN08',
        ...key,
        '--question',
        '1',
        '--counter',
        '-1',
      ]),
      2,
      'ERR_USAGE',
    );
  });
});

describe('offtoken otp uri', () => {
  it('prints the Key URI for a given secret, and a QR code with --qr', () => {
    const r = cli([
      'otp',
      'uri',
      '--issuer',
      'ACME Co',
      '--account',
      'alice@example.com',
      '--secret',
      base32Encode(seed20),
      '--qr',
    ]);
    assert.equal(r.status, 0, r.err);
    const [uri, ...qr] = r.out.split('\n');
    assert.equal(
      uri,
      'otpauth://totp/ACME%20Co%3Aalice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30',
    );
    assert.ok(qr.length > 20 && qr.some((l) => l.includes('▄')));
  });

  it('makes a new CSPRNG secret, prints JSON, and writes PNG/SVG QR files that decode to the URI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'offtoken-uri-'));
    const png = join(dir, 'k.png');
    const svg = join(dir, 'k.svg');
    const args = ['--issuer', 'ACME', '--account', 'bob', '--algorithm', 'SHA256', '--json'];
    const r = cli(['otp', 'uri', ...args, '--qr-png', png, '--qr-svg', svg]);
    assert.equal(r.status, 0, r.err);
    const { uri, secret } = JSON.parse(r.out) as { uri: string; secret: string };
    const k = parseOtpauthUri(uri);
    assert.equal(k.secret.length, 32);
    assert.equal(base32Encode(k.secret, { padding: false }), secret);
    assert.equal(k.algorithm, 'SHA256');
    const img = PNG.sync.read(readFileSync(png));
    assert.equal(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data, uri);
    assert.match(readFileSync(svg, 'utf8'), /^<svg /);
    const again = JSON.parse(cli(['otp', 'uri', ...args]).out) as { secret: string };
    assert.notEqual(again.secret, secret);
  });

  it('rejects an ambiguous label and a bad secret', () => {
    rejected(cli(['otp', 'uri', '--issuer', 'A:B', '--account', 'x']), 1, 'ERR_INVALID_ARGUMENT');
    rejected(
      cli(['otp', 'uri', '--issuer', 'A', '--account', 'x', '--secret', '!!']),
      1,
      'ERR_BASE32_INVALID',
    );
    rejected(cli(['otp', 'uri', '--account', 'x']), 2, 'ERR_USAGE');
  });
});

describe('offtoken otp enroll --qr / verify', () => {
  it('prints the otpauth URI and a QR code, then verify exits 0 for the code and 1 for a wrong one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'offtoken-enrol-'));
    const store = `sqlite:${join(dir, 's.db')}`;
    const png = join(dir, 'e.png');
    const e = cli([
      'otp',
      'enroll',
      '--store',
      store,
      '--id',
      'carol',
      '--issuer',
      'ACME',
      '--qr',
      '--qr-png',
      png,
    ]);
    assert.equal(e.status, 0, e.err);
    const [uri, ...qr] = e.out.split('\n');
    assert.match(
      uri as string,
      /^otpauth:\/\/totp\/ACME%3Acarol\?secret=[A-Z2-7]{32}&issuer=ACME&algorithm=SHA1&digits=6&period=30$/,
    );
    assert.ok(qr.length > 20);
    const img = PNG.sync.read(readFileSync(png));
    assert.equal(jsQR(new Uint8ClampedArray(img.data), img.width, img.height)?.data, uri);
    const secret = parseOtpauthUri(uri as string).secret;
    const now = 1_800_000_000;
    const code = hotp(secret, Math.floor(now / 30));
    const ok = cli(['otp', 'verify', '--store', store, '--id', 'carol', '--now', String(now), code]);
    assert.equal(ok.status, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out), { id: 'carol', ok: true, type: 'totp', step: now / 30, drift: 0 });
    const wrong = code === '000000' ? '000001' : '000000';
    rejected(
      cli(['otp', 'verify', '--store', store, '--id', 'carol', '--now', String(now + 300), wrong]),
      1,
      'ERR_OTP_INVALID',
    );
  });
});

describe('offtoken otp enroll: a refused enrolment leaves no credential (issue 17 items 9 and 10)', () => {
  const store = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'offtoken-enrol-')), 's.db')}`;

  it('refuses with --qr a label whose URI no QR code holds, before storing, so a retry succeeds', () => {
    const s = store();
    const long = ['--issuer', 'é'.repeat(150), '--account', 'ü'.repeat(150)];
    rejected(cli(['otp', 'enroll', '--store', s, '--id', 'dave', ...long, '--qr']), 1, 'ERR_INPUT_TOO_LARGE');
    // the same label fits a URI (printed without a QR code), and the id was never taken
    const r = cli(['otp', 'enroll', '--store', s, '--id', 'dave', ...long, '--json']);
    assert.equal(r.status, 0, r.err);
    const { uri } = JSON.parse(r.out) as { uri: string };
    assert.equal(parseOtpauthUri(uri).account, 'ü'.repeat(150));
  });

  it('refuses a label whose URI the parser would refuse (ERR_INPUT_TOO_LARGE), storing nothing', () => {
    const s = store();
    const huge = ['--issuer', 'é'.repeat(256), '--account', 'ü'.repeat(256)];
    rejected(cli(['otp', 'enroll', '--store', s, '--id', 'erin', ...huge]), 1, 'ERR_INPUT_TOO_LARGE');
    rejected(cli(['otp', 'uri', ...huge]), 1, 'ERR_INPUT_TOO_LARGE');
    assert.equal(cli(['otp', 'enroll', '--store', s, '--id', 'erin']).status, 0);
  });

  it('removes the credential again when a QR file cannot be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'offtoken-enrol-'));
    const s = `sqlite:${join(dir, 's.db')}`;
    const png = join(dir, 'ok.png');
    const r = cli([
      'otp',
      'enroll',
      '--store',
      s,
      '--id',
      'fay',
      '--qr-png',
      png,
      '--qr-svg',
      join(dir, 'no', 'x.svg'),
    ]);
    assert.notEqual(r.status, 0);
    assert.equal(r.out, '');
    assert.equal(existsSync(png), false);
    assert.equal(cli(['otp', 'enroll', '--store', s, '--id', 'fay']).status, 0);
  });

  it('refuses bidi controls and invisible-only names with ERR_OTP_LABEL_INVALID', () => {
    const s = store();
    rejected(
      cli(['otp', 'enroll', '--store', s, '--id', 'g', '--issuer', '\u202eEMCA']),
      1,
      'ERR_OTP_LABEL_INVALID',
    );
    rejected(
      cli(['otp', 'enroll', '--store', s, '--id', 'g', '--account', '\u200b']),
      1,
      'ERR_OTP_LABEL_INVALID',
    );
    rejected(cli(['otp', 'uri', '--issuer', 'ACME', '--account', 'a\u2066b']), 1, 'ERR_OTP_LABEL_INVALID');
    assert.equal(cli(['otp', 'enroll', '--store', s, '--id', 'g', '--issuer', 'ACME']).status, 0);
  });
});
