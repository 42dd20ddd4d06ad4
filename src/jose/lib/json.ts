import { InputTooLargeError } from '../../errors/base.js';

export const DEFAULT_MAX_DEPTH = 32;

/**
 * One linear pass over already-parsed-valid JSON text: enforces a nesting limit and, when asked, rejects
 * duplicate member names (JSON.parse silently keeps the last one, which lets two parsers disagree about
 * what a header says - RFC 7515 5.2 requires rejecting them). Returns a reason string or undefined.
 */
export function scanJson(text: string, maxDepth: number, rejectDuplicates: boolean): string | undefined {
  // Stack entries: a Set of seen names for objects (or true when not tracking), false for arrays.
  const stack: Array<Set<string> | boolean> = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      if (expectKey) {
        const top = stack[stack.length - 1];
        if (top instanceof Set) {
          const name = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
          if (top.has(name)) return `duplicate member name "${name.slice(0, 32)}"`;
          top.add(name);
        }
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) {
      stack.push(rejectDuplicates ? new Set() : true);
      if (stack.length > maxDepth) return `nesting deeper than ${maxDepth}`;
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(false);
      if (stack.length > maxDepth) return `nesting deeper than ${maxDepth}`;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] !== false;
    }
  }
  return undefined;
}

function bracketsAtMost(text: string, limit: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > limit) return false;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > limit) return false;
  return true;
}

function commas(text: string): number {
  let n = 0;
  for (let i = text.indexOf(','); i !== -1; i = text.indexOf(',', i + 1)) n++;
  return n;
}

/**
 * Walks a parsed value (objects nested at most `maxDepth`, the top one at `depth` 1) and adds to `c` its member
 * count (`keys`) and the commas its text has that separate no two members of one object, less one per
 * non-empty object (`extra`: array element separators minus non-empty objects). False when deeper than maxDepth.
 */
function shapeOf(v: object, depth: number, maxDepth: number, c: { keys: number; extra: number }): boolean {
  if (depth > maxDepth) return false;
  if (Array.isArray(v)) {
    if (v.length > 1) c.extra += v.length - 1;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' && x !== null && !shapeOf(x, depth + 1, maxDepth, c)) return false;
    }
    return true;
  }
  let k = 0;
  const o = v as Record<string, unknown>;
  // JSON.parse output has no inherited enumerable keys; an own "__proto__" member is enumerated like any other.
  for (const name in o) {
    k++;
    const x = o[name];
    if (typeof x === 'object' && x !== null && !shapeOf(x, depth + 1, maxDepth, c)) return false;
  }
  c.keys += k;
  if (k > 0) c.extra--;
  return true;
}

/**
 * Proves, without a character scan, that valid JSON text has no duplicate member name and is not deeper than
 * maxDepth. Outside strings, an object of m members holds m - 1 commas and an array of n elements n - 1; inside
 * strings there may be more. So the text's members number at most (',' in the text) - (array separators) +
 * (non-empty objects), while the parsed value holds one key per distinct name: when the two counts are equal,
 * no name was repeated. False means "not proven" (a repeated name, or commas inside strings): the caller scans.
 */
function provenUnique(text: string, value: object, maxDepth: number): boolean {
  const c = { keys: 0, extra: 0 };
  if (!shapeOf(value, 1, maxDepth, c)) return false;
  return commas(text) - c.extra === c.keys;
}

/**
 * Parses JSON that must be an object, within depth limits; `onError` builds the typed error to throw, and
 * `onDuplicate` (default `onError`) the one for a repeated member name: a payload's caller may need the code
 * its header gives that fault.
 */
export function parseJsonObject(
  text: string,
  opts: { maxDepth: number; rejectDuplicates: boolean },
  onError: (reason: string) => Error,
  onDuplicate: (reason: string) => Error = onError,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw onError('is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw onError('is not a JSON object');
  // Nesting needs one bracket per level: text with at most maxDepth brackets in all (counted by the native
  // indexOf, stopping early) cannot be too deep, so the character-by-character scan is only run when
  // duplicates must be found or the text is bracket-heavy. Brackets inside strings only make the count larger.
  if (!opts.rejectDuplicates && bracketsAtMost(text, opts.maxDepth)) return value as Record<string, unknown>;
  if (opts.rejectDuplicates && provenUnique(text, value, opts.maxDepth))
    return value as Record<string, unknown>;
  const problem = scanJson(text, opts.maxDepth, opts.rejectDuplicates);
  if (problem !== undefined) {
    if (problem.startsWith('nesting')) throw new InputTooLargeError(`JSON ${problem}`);
    throw onDuplicate(`has a ${problem}`);
  }
  return value as Record<string, unknown>;
}
