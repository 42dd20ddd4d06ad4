import { deflateSync, inflateSync } from 'node:zlib';
import { decodeBase64url, encodeBase64url } from '../encoding/base64url.js';
import { InvalidArgumentError } from '../errors/base.js';
import { StatusListInvalidError, StatusListMismatchError } from '../errors/server.js';

/** draft-ietf-oauth-status-list 4.1: each status takes 1, 2, 4 or 8 bits. */
export type StatusBits = 1 | 2 | 4 | 8;

/** draft-ietf-oauth-status-list 7.1: the registered status values. */
export const STATUS_VALID = 0x00;
export const STATUS_INVALID = 0x01;
export const STATUS_SUSPENDED = 0x02;

/**
 * Default cap on the inflated list: 16 MiB holds 134 million 1-bit statuses. A compressed list of a few
 * kilobytes can inflate to gigabytes (a decompression bomb), so inflate stops at this size.
 */
export const MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024;
/** Default cap on the `lst` string before decoding. */
export const MAX_LST_CHARS = 4 * 1024 * 1024;

/** The JSON form inside a status list token: `{ bits, lst }`. */
export interface StatusListJson {
  bits: StatusBits;
  lst: string;
}

function checkBits(bits: unknown): asserts bits is StatusBits {
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8)
    throw new StatusListInvalidError('bits must be 1, 2, 4 or 8');
}

/**
 * A byte array of statuses. Index 0 sits in the least significant bits of byte 0 (draft 4.1: statuses are
 * packed LSB first within each byte).
 */
export class StatusList {
  readonly bits: StatusBits;
  readonly bytes: Uint8Array;

  constructor(bits: StatusBits, sizeOrBytes: number | Uint8Array) {
    checkBits(bits);
    this.bits = bits;
    if (typeof sizeOrBytes === 'number') {
      if (!Number.isSafeInteger(sizeOrBytes) || sizeOrBytes < 1)
        throw new InvalidArgumentError('status list size must be a positive integer');
      const nBytes = Math.ceil((sizeOrBytes * bits) / 8);
      if (nBytes > MAX_STATUS_LIST_BYTES) throw new InvalidArgumentError('status list is too large');
      this.bytes = new Uint8Array(nBytes);
    } else {
      this.bytes = sizeOrBytes;
    }
  }

  /** Number of status slots. */
  get size(): number {
    return (this.bytes.length * 8) / this.bits;
  }

  get(idx: number): number {
    if (!Number.isSafeInteger(idx) || idx < 0 || idx >= this.size)
      throw new StatusListMismatchError('status index is outside the list');
    const bitPos = idx * this.bits;
    const byte = this.bytes[bitPos >> 3] ?? 0;
    return (byte >> (bitPos & 7)) & ((1 << this.bits) - 1);
  }

  set(idx: number, value: number): void {
    if (!Number.isSafeInteger(idx) || idx < 0 || idx >= this.size)
      throw new InvalidArgumentError('status index is outside the list');
    const mask = (1 << this.bits) - 1;
    if (!Number.isInteger(value) || value < 0 || value > mask)
      throw new InvalidArgumentError(`status value must fit in ${this.bits} bits`);
    const bitPos = idx * this.bits;
    const shift = bitPos & 7;
    const i = bitPos >> 3;
    this.bytes[i] = ((this.bytes[i] ?? 0) & ~(mask << shift)) | (value << shift);
  }

  /** draft 4.1: `lst` is the base64url of the zlib (RFC 1950) DEFLATE-compressed bytes. */
  encode(): StatusListJson {
    return { bits: this.bits, lst: encodeBase64url(deflateSync(this.bytes, { level: 9 })) };
  }

  static decode(json: unknown, limits: { maxBytes?: number; maxLstChars?: number } = {}): StatusList {
    if (typeof json !== 'object' || json === null)
      throw new StatusListInvalidError('status_list is not an object');
    const { bits, lst } = json as { bits?: unknown; lst?: unknown };
    checkBits(bits);
    if (typeof lst !== 'string') throw new StatusListInvalidError('lst is not a string');
    const maxChars = limits.maxLstChars ?? MAX_LST_CHARS;
    if (lst.length > maxChars) throw new StatusListInvalidError(`lst exceeds ${maxChars} characters`);
    let compressed: Buffer;
    try {
      compressed = decodeBase64url(lst, 'lst');
    } catch {
      throw new StatusListInvalidError('lst is not base64url');
    }
    return StatusList.fromCompressed(bits, compressed, limits);
  }

  /** The CBOR form's `lst` (draft 4.3) is these compressed bytes themselves; the JSON form's, base64url. */
  static fromCompressed(
    bits: unknown,
    compressed: Uint8Array,
    limits: { maxBytes?: number } = {},
  ): StatusList {
    checkBits(bits);
    let bytes: Buffer;
    try {
      // maxOutputLength makes zlib stop (and throw) instead of allocating a bomb's output
      bytes = inflateSync(compressed, { maxOutputLength: limits.maxBytes ?? MAX_STATUS_LIST_BYTES });
    } catch {
      throw new StatusListInvalidError('lst is not zlib data or inflates beyond the size limit');
    }
    if (bytes.length === 0) throw new StatusListInvalidError('status list is empty');
    // A view on inflate's own output, not a copy: a large list is held once, at its inflated size.
    return new StatusList(bits, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
}
