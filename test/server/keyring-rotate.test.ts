import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AuthorityKeyring } from '../../src/server/keyring.js';
import { type CliResult, tempDir } from '../cli/helpers.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The CLI as a child process that runs beside others (test/cli/helpers.ts `cli` waits for each in turn). */
function cliAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function newKeyring(): { dataDir: string; file: string } {
  const dataDir = tempDir();
  const file = path.join(dataDir, 'keyring.json');
  AuthorityKeyring.openOrCreate(file, 'EdDSA', Math.floor(Date.now() / 1000));
  return { dataDir, file };
}

const kidsIn = (file: string) =>
  (JSON.parse(readFileSync(file, 'utf8')) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe('keys rotate under concurrency', () => {
  it('keeps every kid that 6 concurrent `keys rotate` print, over 3 rounds', async () => {
    const { dataDir, file } = newKeyring();
    const printed: string[] = [];
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all(
        Array.from({ length: 6 }, () => cliAsync(['keys', 'rotate', '--data-dir', dataDir, '--json'])),
      );
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        printed.push((JSON.parse(r.stdout) as { kid: string }).kid);
      }
      const kids = kidsIn(file);
      for (const kid of printed) assert.ok(kids.includes(kid), `round ${round}: kid ${kid} was lost`);
    }
    assert.equal(new Set(printed).size, 18);
    // the last rotation's key is the active one, and every rotation retired exactly the key before it
    const ring = JSON.parse(readFileSync(file, 'utf8')) as { active: string };
    assert.ok(printed.includes(ring.active));
    assert.equal(existsSync(`${file}.lock`), false);
  });

  it('waits for a live lock and gives up with ERR_KEYRING_LOCKED, leaving the keyring as it was', () => {
    const { file } = newKeyring();
    const ring = AuthorityKeyring.openExisting(file);
    const before = readFileSync(file, 'utf8');
    writeFileSync(`${file}.lock`, `${process.pid} held-by-this-test\n`, { flag: 'wx' });
    assert.throws(
      () => ring.rotate(Math.floor(Date.now() / 1000), 60, undefined, { lockWaitMs: 200 }),
      (e: { code?: string }) => e.code === 'ERR_KEYRING_LOCKED',
    );
    assert.equal(readFileSync(file, 'utf8'), before);
    assert.equal(readFileSync(`${file}.lock`, 'utf8'), `${process.pid} held-by-this-test\n`);
  });

  it('breaks a lock left by a dead process and rotates', () => {
    const { file } = newKeyring();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(`${file}.lock`, `${dead} left-by-a-crash\n`, { flag: 'wx' });
    const ring = AuthorityKeyring.openExisting(file);
    const kid = ring.rotate(Math.floor(Date.now() / 1000), 60, undefined, { lockWaitMs: 2000 });
    assert.ok(kidsIn(file).includes(kid));
    assert.equal(existsSync(`${file}.lock`), false);
  });

  it('a rotation from a keyring read before another rotation keeps the other rotation key', () => {
    const { file } = newKeyring();
    const stale = AuthorityKeyring.openExisting(file);
    const now = Math.floor(Date.now() / 1000);
    const first = AuthorityKeyring.openExisting(file).rotate(now, 3600);
    const second = stale.rotate(now, 3600);
    assert.deepEqual([kidsIn(file).includes(first), kidsIn(file).includes(second)], [true, true]);
    assert.equal(stale.retiredKeyId, first);
  });
});
