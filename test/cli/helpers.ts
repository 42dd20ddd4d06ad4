import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const root = resolve(import.meta.dirname, '../..');

/**
 * Runs the CLI from source (through tsx) in the repository root, with stdin and extra environment variables.
 * The one CLI runner every test uses; a key passphrase or store key from the caller's shell never leaks in.
 */
export function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): CliResult {
  return run(['--import', 'tsx', 'src/cli/main.ts', ...args], opts);
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
