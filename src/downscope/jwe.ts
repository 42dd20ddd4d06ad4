import { createCipheriv, createDecipheriv, type KeyObject, randomFillSync } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { parseJsonObject } from '../jose/lib/json.js';

// IVs are taken from a pool refilled from the CSPRNG (one RAND_bytes call per 341 IVs instead of one per
// token): every IV is still fresh CSPRNG output, used once, never derived from a counter or the clock.
const IV_POOL = Buffer.allocUnsafe(12 * 341);
let ivPos = IV_POOL.length;
function freshIv(): Buffer {
  if (ivPos === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivPos = 0;
  }
  const iv = Buffer.from(IV_POOL.subarray(ivPos, ivPos + 12));
  // wipe the slot so the pool never hands the same bytes out twice, even if it were read again
  IV_POOL.fill(0, ivPos, ivPos + 12);
  ivPos += 12;
  return iv;
}

/**
 * A compact-JWE `dir`/A256GCM sealer for one key and one protected header: the header's base64url form and
 * the AAD are computed once, so sealing many tokens (client-side downscoping) costs one AES-GCM pass each.
 */
export class DirSealer {
  readonly #key: KeyObject | Buffer;
  readonly #h: string;
  readonly #aad: Buffer;
  constructor(key: KeyObject | Buffer, header: Record<string, unknown>) {
    this.#key = key;
    this.#h = encodeBase64url(JSON.stringify({ alg: 'dir', enc: 'A256GCM', ...header }));
    this.#aad = Buffer.from(this.#h, 'ascii');
  }
  seal(plaintext: Uint8Array | string): string {
    const iv = freshIv();
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(this.#aad);
    const ct =
      typeof plaintext === 'string'
        ? Buffer.concat([c.update(plaintext, 'utf8'), c.final()])
        : Buffer.concat([c.update(plaintext), c.final()]);
    return `${this.#h}..${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }
}

/**
 * Compact JWE `alg: dir`, `enc: A256GCM` (RFC 7516 / RFC 7518 5.3): empty encrypted key, 96-bit CSPRNG IV per
 * token, AAD = ASCII(BASE64URL(protected header)) so the header cannot be swapped.
 */
export function sealDir(
  plaintext: Uint8Array | string,
  key: KeyObject | Buffer,
  header: Record<string, unknown>,
): string {
  return new DirSealer(key, header).seal(plaintext);
}

const PLAIN: Record<string, unknown> = { alg: 'dir', enc: 'A256GCM' };
const PLAIN_HEADER = encodeBase64url(JSON.stringify(PLAIN));

/** Splits a compact dir/A256GCM JWE's header without decrypting (throws on malformation). */
export function peekHeader(jwe: string): Record<string, unknown> {
  const h = jwe.slice(0, jwe.indexOf('.'));
  // RFC 7516 9 / 7515 5.2: duplicate header names refused, by the jose core's parser
  return parseJsonObject(
    decodeBase64url(h).toString('utf8'),
    { maxDepth: 8, rejectDuplicates: true },
    (r) => new Error(r),
  );
}

/** Decrypts; throws a plain Error on any malformation or authentication failure. */
export function openDir(jwe: string, key: KeyObject | Buffer): Buffer {
  const parts = jwe.split('.');
  if (parts.length !== 5 || parts[1] !== '') throw new Error('shape');
  const [h, , ivs, cts, tags] = parts as [string, string, string, string, string];
  // the header every derived token carries is recognised without a parse; any other is parsed and checked
  const header = h === PLAIN_HEADER ? PLAIN : peekHeader(jwe);
  if (
    header.alg !== 'dir' ||
    header.enc !== 'A256GCM' ||
    header.crit !== undefined ||
    header.zip !== undefined
  )
    throw new Error('alg');
  const iv = decodeBase64url(ivs);
  const tag = decodeBase64url(tags);
  if (iv.length !== 12 || tag.length !== 16) throw new Error('iv');
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  d.setAAD(Buffer.from(h, 'ascii'));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(decodeBase64url(cts)), d.final()]);
}
