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

/** Parses JSON that must be an object, within depth limits; `onError` builds the typed error to throw. */
export function parseJsonObject(
  text: string,
  opts: { maxDepth: number; rejectDuplicates: boolean },
  onError: (reason: string) => Error,
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
  const problem = scanJson(text, opts.maxDepth, opts.rejectDuplicates);
  if (problem !== undefined) {
    if (problem.startsWith('nesting')) throw new InputTooLargeError(`JSON ${problem}`);
    throw onError(`has a ${problem}`);
  }
  return value as Record<string, unknown>;
}
