import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { OfftokenError } from '../errors/base.js';
import {
  JwksInvalidError,
  KeyfileDecryptFailedError,
  KeyfileInvalidError,
  KeyfilePermissionsError,
  ServiceAccountInvalidError,
} from '../errors/keys.js';
import { type OfftokenKey, readKeyFileSync, readPrivateFileSync } from '../keys/index.js';

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

/**
 * Reads stdin to its end as a stream, refusing (ERR_USAGE) as soon as more than `max` bytes arrived: nothing
 * beyond the limit is buffered, and a writer that never stops cannot hold the process. A stream, not
 * readFileSync(0): stdin inherited from a pipe is often non-blocking, and a synchronous read of a writer that
 * has not written yet fails with EAGAIN. The one stdin reader of the CLI.
 */
export function readStdin(what = 'token', max = MAX_STDIN_BYTES): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY)
    return Promise.reject(new UsageError(`no ${what} given: pass it as an argument or on stdin`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (err?: OfftokenError) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      // a late error on a stream we gave up on must not crash the process
      stdin.on('error', () => {});
      if (err) {
        stdin.destroy();
        reject(err);
        return;
      }
      stdin.pause();
      resolve(Buffer.concat(chunks, total).toString('utf8'));
    };
    const onData = (c: Buffer | string) => {
      const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
      if (total + b.length > max) {
        finish(new UsageError(`${what} on stdin exceeds ${max} bytes`));
        return;
      }
      chunks.push(b);
      total += b.length;
    };
    const onEnd = () => finish();
    const onError = (e: Error) =>
      finish(
        new UsageError(`${what} cannot be read from stdin (${(e as NodeJS.ErrnoException).code ?? 'error'})`),
      );
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
  });
}

/** Reads a positional argument, or stdin when it is `-` or absent. Surrounding whitespace is trimmed. */
export async function argOrStdin(arg: string | undefined, what = 'token'): Promise<string> {
  if (arg !== undefined && arg !== '-') return arg.trim();
  const text = (await readStdin(what)).trim();
  if (text === '') throw new UsageError(`no ${what} given: stdin was empty`);
  return text;
}

/** Largest file a flag names, unless the flag sets its own bound. */
export const MAX_FLAG_FILE_BYTES = 1024 * 1024;

/** A usage error naming the flag and the file, with the reason in words (never a raw errno message). */
export function fileError(flag: string, file: string, e: unknown): UsageError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOENT' || code === 'ENOTDIR'
      ? 'no such file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EEXIST'
            ? 'exists; it is never overwritten'
            : `cannot be read${code ? ` (${code})` : ''}`;
  return new UsageError(`${flag} ${file}: ${why}`);
}

/**
 * Checks that a file a library reader will open exists, is not a directory and (with `max`) is not larger than
 * that, so that a wrong path is a usage error naming the flag (exit 2) rather than the reader's own error. The
 * reader still opens, bounds and checks the file itself (key files: permissions, size).
 */
export function requireFile(file: string, flag: string, max?: number): void {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    throw fileError(flag, file, e);
  }
  if (st.isDirectory()) throw fileError(flag, file, { code: 'EISDIR' });
  if (max !== undefined && st.size > max) throw new UsageError(`${flag} ${file}: exceeds ${max} bytes`);
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw fileError(flag, file, e);
  }
}

/**
 * Checks a file a flag names for writing (`--out`, `--audit`, `--qr-png` ...) before any work is done, so a
 * wrong path is a usage error naming the flag rather than an errno after keys were generated or tokens minted:
 * it must not be a directory, and its directory must exist.
 */
export function requireOutputPath(file: string, flag: string): void {
  let st: Stats | undefined;
  try {
    st = statSync(file);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw fileError(flag, file, { code: 'EISDIR' });
  const dir = dirname(file);
  if (st === undefined && !existsSync(dir)) throw new UsageError(`${flag} ${file}: no such directory ${dir}`);
}

/**
 * `--data-dir DIR`: a path that exists but is not a directory is a usage error naming the flag. A missing one
 * is left to the command (the authority creates it; a reader says there is no keyring there yet).
 */
export function dataDirOption(dir: string | undefined): { dataDir?: string } {
  if (dir === undefined) return {};
  let st: Stats | undefined;
  try {
    st = statSync(dir);
  } catch {
    st = undefined;
  }
  if (st !== undefined && !st.isDirectory()) throw new UsageError(`--data-dir ${dir}: not a directory`);
  return { dataDir: dir };
}

/** Largest key file or service-account file a flag names (the readers' own bound, checked here first). */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Runs a key-file reader on the file `flag` names, so that its refusal (not a key file, a JWKS, the wrong
 * passphrase, loose permissions) names the flag and the path as every other file error does.
 */
export function namingFlag<T>(flag: string, file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    for (const C of [
      KeyfileInvalidError,
      KeyfileDecryptFailedError,
      KeyfilePermissionsError,
      ServiceAccountInvalidError,
    ])
      if (e instanceof C) throw new C(`${flag} ${file}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Reads an offtoken key file named by a flag: missing, unreadable, a directory or over 64 KiB is ERR_USAGE
 * naming the flag; a file of another kind (a JWKS, a service-account file) is ERR_KEYFILE_INVALID saying so.
 */
export function readKeyFileOption(file: string, flag: string, passphrase: string | undefined): OfftokenKey {
  requireFile(file, flag, MAX_KEY_FILE_BYTES);
  return namingFlag(flag, file, () => readKeyFileSync(file, passphrase !== undefined ? { passphrase } : {}));
}

/** `--config FILE` for loadConfig: checked here (missing, a directory, over 1 MiB) so it is ERR_USAGE. */
export function configOption(file: string | undefined): { file?: string } {
  if (file === undefined) return {};
  requireFile(file, '--config', MAX_FLAG_FILE_BYTES);
  return { file };
}

/**
 * Reads a file named by a flag, at most `max` bytes: the one bounded file reader of the CLI. One descriptor
 * for stat and read; a regular file over the bound is refused before reading, a pipe (`--jwks <(curl ...)`) is
 * read until the bound and no further. Missing, unreadable, a directory or too large is ERR_USAGE naming the
 * flag and the file.
 */
export function readFileBytes(file: string, flag: string, max = MAX_FLAG_FILE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fileError(flag, file, e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw fileError(flag, file, { code: 'EISDIR' });
    if (st.isFile() && st.size > max) throw new UsageError(`${flag} ${file}: exceeds ${max} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.alloc(Math.min(max + 1, 64 * 1024));
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk, 0, Math.min(chunk.length, max + 1 - total), null);
      } catch (e) {
        throw fileError(flag, file, e);
      }
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
      total += n;
      if (total > max) throw new UsageError(`${flag} ${file}: exceeds ${max} bytes`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** Reads a text file named by a flag through the bounded reader (default 1 MiB). */
export function readTextFile(file: string, flag: string, max = MAX_FLAG_FILE_BYTES): string {
  return readFileBytes(file, flag, max).toString('utf8');
}

/**
 * Reads a JWKS named by a flag (bounded JSON). A key file or a service-account file given instead says so
 * (ERR_JWKS_INVALID naming the flag and the path); the set itself is checked by its consumer.
 */
export function readJwksFile(file: string, flag: string): unknown {
  const doc = readJsonFile(file, flag);
  if (typeof doc === 'object' && doc !== null && !Array.isArray((doc as { keys?: unknown }).keys)) {
    const d = doc as Record<string, unknown>;
    const what =
      d.type === 'service_account'
        ? 'a service-account file'
        : d.v === 1 || d.type === 'offtoken-key'
          ? 'an offtoken key file'
          : typeof d.kty === 'string'
            ? 'a bare JWK'
            : undefined;
    if (what !== undefined)
      throw new JwksInvalidError(
        `${flag} ${file}: the file is ${what}, not a JWKS (offtoken keys jwks FILE or service-account jwks prints one)`,
      );
  }
  return doc;
}

/** Reads and parses a JSON file named by a flag, bounded; a syntax error is a usage error. */
export function readJsonFile(file: string, flag: string, max = MAX_FLAG_FILE_BYTES): unknown {
  return parseJsonOption(readTextFile(file, flag, max), `${flag} ${file}`);
}

/**
 * Reads a file that may hold a private key through the key files' reader (bounded, one descriptor), which
 * refuses a group/world-accessible private file with ERR_KEYFILE_PERMISSIONS unless `force`: the same rule for
 * every private file the CLI reads. The refusal names the flag and ends with `hint` (what to do instead).
 */
export function readPrivateFile(
  file: string,
  flag: string,
  opts: { force?: boolean; isPrivate: (text: string) => boolean; maxBytes?: number; hint?: string },
): string {
  requireFile(file, flag, opts.maxBytes ?? MAX_KEY_FILE_BYTES);
  try {
    return readPrivateFileSync(file, {
      isPrivate: opts.isPrivate,
      ...(opts.force ? { force: true } : {}),
      ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
    });
  } catch (e) {
    if (e instanceof KeyfilePermissionsError)
      throw new KeyfilePermissionsError(
        `${flag} ${file} holds a private key and is readable by group or others: chmod 600 it or pass --force${opts.hint ? `. ${opts.hint}` : ''}`,
      );
    throw e;
  }
}

/**
 * A store that must outlive this process (single-use tokens, OTP credentials and their counters). `memory:`
 * starts empty on every run, so a consumed token would be accepted again by the next run.
 */
export function requirePersistentStore(url: string, flag: string): string {
  if (url === 'memory:' || url.startsWith('memory:'))
    throw new UsageError(
      `${flag} memory: forgets everything when this command exits, so a single-use token or code would be accepted again by the next run; use sqlite:PATH or redis://HOST:PORT[/db]`,
    );
  return url;
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
