import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAX_STDIN_BYTES } from '../../src/cli/io.js';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { base32Encode } from '../../src/otp/index.js';
import { cli, cliSlowStdin, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const hs = generateKey('HS256');
const secret = hs.secretKey!.export().toString('base64url');
const jwt = signJwt({ sub: 'alice' }, hs.secretKey!, { alg: 'HS256', expiresIn: 600 });
const signedKeyFile = join(dir, 'signed.key');
writeKeyFileSync(signedKeyFile, generateKey('EdDSA'));

/** The text in pieces of `size` characters, as a slow producer writes it. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

// The writers below spread their pieces over a second or more, so the CLI (whatever its start-up time) reads
// while the writer is still writing: the case a synchronous read of a non-blocking stdin fails with EAGAIN.
describe('CLI stdin: a stream read with the size limit applied while reading', () => {
  it('jwt verify - accepts a token from a writer that starts late and writes in small pieces', async () => {
    const r = await cliSlowStdin(
      ['jwt', 'verify', '-', '--secret', secret, '--alg', 'HS256', '--json'],
      pieces(`${jwt}\n`, 6),
      {
        startDelayMs: 500,
        pieceDelayMs: 100,
      },
    );
    assert.equal(JSON.parse(ok(r)).sub, 'alice');
  });

  it('jwt inspect (token absent) reads the slow pipe too', async () => {
    const r = await cliSlowStdin(['jwt', 'inspect', '--json'], pieces(jwt, 16), {
      startDelayMs: 300,
      pieceDelayMs: 150,
    });
    assert.equal(JSON.parse(ok(r)).payload.sub, 'alice');
  });

  it('token read - reads a token from a writer that starts late and writes in small pieces', async () => {
    const token = ok(
      cli(['token', 'generate', '--key', signedKeyFile, '--claims', '{"sub":"dev-1"}']),
    ).trim();
    const r = await cliSlowStdin(['token', 'read', '-', '--key', signedKeyFile], pieces(`${token}\n`, 11), {
      startDelayMs: 500,
      pieceDelayMs: 100,
    });
    assert.equal(JSON.parse(ok(r)).claims.sub, 'dev-1');
  });

  it('otp code --secret - reads the secret from a late, slow writer', async () => {
    const b32 = base32Encode(Buffer.from('12345678901234567890'), { padding: false });
    const r = await cliSlowStdin(
      ['otp', 'code', '--secret', '-', '--hotp', '--counter', '0'],
      pieces(b32, 4),
      {
        startDelayMs: 300,
        pieceDelayMs: 250,
      },
    );
    // RFC 4226 appendix D, count 0
    assert.equal(ok(r).trim(), '755224');
  });

  it('refuses more than the limit with ERR_USAGE and exits while the writer still holds stdin open', async () => {
    const chunk = 'a'.repeat(64 * 1024);
    const count = Math.ceil(MAX_STDIN_BYTES / chunk.length) + 1;
    const r = await cliSlowStdin(
      ['jwt', 'verify', '-', '--secret', secret, '--alg', 'HS256'],
      Array.from({ length: count }, () => chunk),
      { keepOpen: true },
    );
    rejected(r, 'ERR_USAGE', 2);
    assert.match(r.stderr, /exceeds 1048576 bytes/);
  });

  it('refuses exactly one byte over the limit, accepts (and then judges) exactly the limit', async () => {
    const over = await cliSlowStdin(['jwt', 'inspect'], [Buffer.alloc(MAX_STDIN_BYTES + 1, 0x61)]);
    rejected(over, 'ERR_USAGE', 2);
    const at = await cliSlowStdin(['jwt', 'inspect'], [Buffer.alloc(MAX_STDIN_BYTES, 0x61)]);
    // read in full: the limit is not a usage error, the text is simply not a JWT
    assert.equal(at.code, 1, at.stderr);
    assert.notEqual(JSON.parse(at.stderr.trim()).error.code, 'ERR_USAGE');
  });

  it('an empty stdin is ERR_USAGE (no token given), not a parse error', () => {
    rejected(cli(['jwt', 'verify', '--secret', secret, '--alg', 'HS256'], { input: '' }), 'ERR_USAGE', 2);
    rejected(cli(['token', 'read', '--key', signedKeyFile], { input: '  \n' }), 'ERR_USAGE', 2);
  });
});
