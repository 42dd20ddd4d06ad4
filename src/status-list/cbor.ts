import { StatusListInvalidError } from '../errors/server.js';

/**
 * The CBOR (RFC 8949) subset a Status List Token in CWT form needs: unsigned and negative integers, byte and
 * text strings, arrays, maps, tags, false/true/null. It is strict because its input comes off the network:
 * definite lengths only, no floats, no undefined or other simple values, integers within 2^53, map keys
 * integers or text and never repeated, UTF-8 checked, no bytes after the item, a depth limit, and every length
 * checked against the bytes left before anything is allocated. Byte strings are views on the input (no copy).
 */
export type CborValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | Map<number | string, CborValue>
  | CborTag;

export interface CborTag {
  tag: number;
  value: CborValue;
}

export const MAX_CBOR_DEPTH = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeCbor(bytes: Uint8Array, maxDepth = MAX_CBOR_DEPTH): CborValue {
  const r = { pos: 0 };
  const v = item(bytes, r, maxDepth);
  if (r.pos !== bytes.length) throw bad('has bytes after the CBOR item');
  return v;
}

function bad(why: string): StatusListInvalidError {
  return new StatusListInvalidError(`the CWT ${why}`);
}

function need(bytes: Uint8Array, r: { pos: number }, n: number): void {
  if (n > bytes.length - r.pos) throw bad('is truncated');
}

function argument(bytes: Uint8Array, r: { pos: number }, info: number): number {
  if (info < 24) return info;
  if (info === 31) throw bad('uses an indefinite length');
  if (info > 27) throw bad('uses a reserved CBOR encoding');
  const n = 1 << (info - 24);
  need(bytes, r, n);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (bytes[r.pos + i] as number);
  r.pos += n;
  if (!Number.isSafeInteger(v)) throw bad('holds an integer beyond 2^53');
  return v;
}

function item(bytes: Uint8Array, r: { pos: number }, depth: number): CborValue {
  if (depth < 0) throw bad('is nested too deeply');
  need(bytes, r, 1);
  const head = bytes[r.pos++] as number;
  const major = head >> 5;
  const info = head & 31;
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    throw bad('holds a float or simple value that is not allowed');
  }
  const arg = argument(bytes, r, info);
  switch (major) {
    case 0:
      return arg;
    case 1:
      return -1 - arg;
    case 2: {
      need(bytes, r, arg);
      const out = bytes.subarray(r.pos, r.pos + arg);
      r.pos += arg;
      return out;
    }
    case 3: {
      need(bytes, r, arg);
      let s: string;
      try {
        s = utf8.decode(bytes.subarray(r.pos, r.pos + arg));
      } catch {
        throw bad('holds a text string that is not UTF-8');
      }
      r.pos += arg;
      return s;
    }
    case 4: {
      // each element takes at least one byte: a length beyond the input is refused before allocating
      need(bytes, r, arg);
      const out: CborValue[] = [];
      for (let i = 0; i < arg; i++) out.push(item(bytes, r, depth - 1));
      return out;
    }
    case 5: {
      need(bytes, r, arg * 2);
      const out = new Map<number | string, CborValue>();
      for (let i = 0; i < arg; i++) {
        const k = item(bytes, r, depth - 1);
        if (typeof k !== 'number' && typeof k !== 'string')
          throw bad('has a map key that is not an integer or text');
        if (out.has(k)) throw bad('has a repeated map key');
        out.set(k, item(bytes, r, depth - 1));
      }
      return out;
    }
    default:
      return { tag: arg, value: item(bytes, r, depth - 1) };
  }
}

/** The encoder for what offtoken issues (status list CWTs): preferred (shortest) argument encoding. */
export function encodeCbor(v: CborValue): Buffer {
  const parts: Buffer[] = [];
  write(v, parts);
  return Buffer.concat(parts);
}

function head(major: number, arg: number, parts: Buffer[]): void {
  if (!Number.isSafeInteger(arg) || arg < 0) throw new RangeError('CBOR argument out of range');
  const m = major << 5;
  if (arg < 24) parts.push(Buffer.from([m | arg]));
  else if (arg < 0x100) parts.push(Buffer.from([m | 24, arg]));
  else if (arg < 0x10000) parts.push(Buffer.from([m | 25, arg >> 8, arg & 0xff]));
  else if (arg < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(arg, 1);
    parts.push(b);
  } else {
    const b = Buffer.alloc(9);
    b[0] = m | 27;
    b.writeBigUInt64BE(BigInt(arg), 1);
    parts.push(b);
  }
}

function write(v: CborValue, parts: Buffer[]): void {
  if (v === false) parts.push(Buffer.from([0xf4]));
  else if (v === true) parts.push(Buffer.from([0xf5]));
  else if (v === null) parts.push(Buffer.from([0xf6]));
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError('only integers are encoded');
    if (v >= 0) head(0, v, parts);
    else head(1, -1 - v, parts);
  } else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    head(3, b.length, parts);
    parts.push(b);
  } else if (v instanceof Uint8Array) {
    head(2, v.length, parts);
    parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  } else if (Array.isArray(v)) {
    head(4, v.length, parts);
    for (const e of v) write(e, parts);
  } else if (v instanceof Map) {
    head(5, v.size, parts);
    for (const [k, e] of v) {
      write(k, parts);
      write(e, parts);
    }
  } else {
    head(6, v.tag, parts);
    write(v.value, parts);
  }
}
