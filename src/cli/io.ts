import { readFileSync } from 'node:fs';
import { OfftokenError } from '../errors/base.js';

/** Exit codes shared by every command: 0 ok, 1 rejected (a typed error), 2 usage or unexpected failure. */
export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;

/** Thrown for bad command-line usage; printed as ERR_USAGE with exit 2. */
export class UsageError extends OfftokenError {
  override readonly code: string = 'ERR_USAGE';
}

/** Writes `{"error":{"code","message"}}` to stderr and sets the exit code. Never prints a stack trace. */
export function reportError(e: unknown): void {
  if (e instanceof OfftokenError) {
    process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
    process.exitCode = e instanceof UsageError ? EXIT_USAGE : EXIT_REJECTED;
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`${JSON.stringify({ error: { code: 'ERR_INTERNAL', message } })}\n`);
  process.exitCode = EXIT_USAGE;
  if (process.env.OFFTOKEN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
}

/** Wraps a commander action so that every rejection becomes the JSON error line and a non-zero exit. */
export function action<A extends unknown[]>(
  fn: (...args: A) => unknown | Promise<unknown>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      reportError(e);
    }
  };
}

/** Prints a value: JSON when `json` is set or the value is not a string. */
export function print(value: unknown, json = false): void {
  if (!json && typeof value === 'string') process.stdout.write(`${value}\n`);
  else process.stdout.write(`${JSON.stringify(value, null, json ? 0 : 2)}\n`);
}

/** Largest token or document read from stdin (tokens can exceed the argv limit but not this). */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads a positional argument, or stdin when it is `-` or absent. Trailing whitespace is trimmed. */
export function argOrStdin(arg: string | undefined, what = 'token'): string {
  if (arg !== undefined && arg !== '-') return arg.trim();
  if (process.stdin.isTTY) throw new UsageError(`no ${what} given: pass it as an argument or on stdin`);
  const buf = readFileSync(0);
  if (buf.length > MAX_STDIN_BYTES) throw new UsageError(`${what} on stdin exceeds ${MAX_STDIN_BYTES} bytes`);
  return buf.toString('utf8').trim();
}

/** Reads a file named by a flag, bounded (default 1 MiB); unreadable or oversized is a usage error. */
export function readTextFile(file: string, flag: string, max = 1024 * 1024): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${flag} ${file} cannot be read`);
  }
  if (text.length > max) throw new UsageError(`${flag} ${file} exceeds ${max} bytes`);
  return text;
}

/** Reads and parses a JSON file named by a flag, bounded; a syntax error is a usage error. */
export function readJsonFile(file: string, flag: string, max = 1024 * 1024): unknown {
  return parseJsonOption(readTextFile(file, flag, max), `${flag} ${file}`);
}

/** Parses a JSON option value, turning a syntax error into a usage error. */
export function parseJsonOption(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} is not valid JSON`);
  }
}

/** Parses an integer option strictly. */
export function intOption(
  text: string,
  flag: string,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${flag} must be an integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be between ${min} and ${max}`);
  return n;
}
