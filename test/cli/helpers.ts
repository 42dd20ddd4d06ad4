import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = resolve(import.meta.dirname, '../..');

/**
 * How the CLI is started. `npm test` (scripts/test.mjs) rebuilds dist/ from src/ when it is older and says so in
 * OFFTOKEN_TEST_DIST_FRESH: then the built CLI runs (a third of the start-up cost of compiling src/ through tsx
 * in every spawned process); a test file run on its own, with src/ perhaps newer than dist/, runs src/ through tsx.
 */
const CLI_ARGV =
  process.env.OFFTOKEN_TEST_DIST_FRESH === '1'
    ? ['dist/cli/main.js']
    : ['--import', 'tsx', 'src/cli/main.ts'];

/**
 * Runs the CLI in the repository root, with stdin and extra environment variables: the one CLI runner every
 * test uses; a key passphrase or store key from the caller's shell never leaks in.
 */
export function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): CliResult {
  return run([...CLI_ARGV, ...args], opts);
}

/**
 * Runs the built bin as a user gets it (`node dist/cli/main.js`, package.json "bin"), without tsx: scripts/test.mjs
 * builds dist/ first. Same environment rules as `cli`.
 */
export function bin(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): CliResult {
  return run(['dist/cli/main.js', ...args], opts);
}

function run(argv: string[], opts: { input?: string; env?: Record<string, string> }): CliResult {
  const r = spawnSync(process.execPath, argv, {
    cwd: root,
    encoding: 'utf8',
    input: opts.input ?? '',
    env: { ...process.env, OFFTOKEN_KEY_PASSPHRASE: '', OFFTOKEN_STORE_KEY: '', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `cli` without blocking the event loop: for tests that serve HTTP from their own process (a status list,
 * a JWKS) to the CLI, and for several CLI processes running at the same time. Same environment rules as `cli`.
 */
export function cliAsync(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...CLI_ARGV, ...args], {
      cwd: root,
      env: { ...process.env, OFFTOKEN_KEY_PASSPHRASE: '', OFFTOKEN_STORE_KEY: '', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Asserts a successful run and returns its stdout. */
export function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Asserts a rejection: the exit code, stdout empty, and `{"error":{"code","message"}}` as the last stderr line. */
export function rejected(r: CliResult, code: string, exit = 1): void {
  assert.equal(r.code, exit, `expected exit ${exit} (${code}), got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  const line = r.stderr.trim().split('\n').pop() as string;
  const parsed = JSON.parse(line) as { error: { code: string; message: string } };
  assert.equal(parsed.error.code, code, line);
  assert.equal(typeof parsed.error.message, 'string');
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'offtoken-cli-'));
}

/**
 * Runs the CLI with stdin as a pipe written in `pieces`: the first after `startDelayMs`, then one every
 * `pieceDelayMs` (a slow producer such as `(sleep 0.5; echo "$T") | offtoken ...`). With `keepOpen` stdin is
 * never closed, so the run can only end by the CLI giving up on its own (a writer that never stops).
 */
export function cliSlowStdin(
  args: string[],
  pieces: (string | Buffer)[],
  opts: { startDelayMs?: number; pieceDelayMs?: number; keepOpen?: boolean } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [...CLI_ARGV, ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, OFFTOKEN_KEY_PASSPHRASE: '', OFFTOKEN_STORE_KEY: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  // the CLI may close its end before the writer is done (it refused the input): EPIPE is expected then
  child.stdin.on('error', () => {});
  let exited = false;
  const write = async () => {
    await delay(opts.startDelayMs ?? 0);
    for (const p of pieces) {
      if (exited) return;
      child.stdin.write(p);
      await delay(opts.pieceDelayMs ?? 0);
    }
    if (!opts.keepOpen) child.stdin.end();
  };
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      exited = true;
      child.stdin.destroy();
      resolvePromise({ code, stdout, stderr });
    });
    write().catch(reject);
  });
}
