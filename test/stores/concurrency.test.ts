import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { OtpValidator } from '../../src/otp/validator.js';
import { RedisStore, SqliteStore } from '../../src/stores/index.js';
import type { OfftokenStore } from '../../src/stores/types.js';
import { redisSkip, redisUrl } from './backends.js';

const worker = fileURLToPath(new URL('./fixtures/race-worker.ts', import.meta.url));
const N = 150;

function run(args: string[]): { done: Promise<string>; child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, sig) =>
      code === 0 ? resolve(out) : reject(new Error(`worker ${code ?? sig}: ${err}`)),
    );
  });
  return { done, child };
}

async function race(store: OfftokenStore, url: string, prefix: string): Promise<void> {
  const key = randomBytes(32);
  const secret = randomBytes(20);
  const v = new OtpValidator({ store, storeKey: key });
  await v.enroll({ id: 'race', type: 'hotp', secret });
  const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));
  const common = [url, prefix, key.toString('hex'), secret.toString('hex'), dir];
  const [a, b] = await Promise.all([
    run([...common, 'a', 'b', String(N), 'race']).done,
    run([...common, 'b', 'a', String(N), 'race']).done,
  ]);
  const la = a.trim().split('\n');
  const lb = b.trim().split('\n');
  assert.equal(la.length, N);
  assert.equal(lb.length, N);
  for (let i = 0; i < N; i++) {
    const pair = [la[i], lb[i]].sort();
    // exactly one accept per code; the loser is told it was a replay
    assert.deepEqual(pair, [`${i} ERR_OTP_REPLAYED`, `${i} ok ${i}`].sort(), `iteration ${i}`);
  }
  assert.equal((await store.getCredential('race'))?.last, N - 1);
}

describe('two processes submitting the same code at once', () => {
  it('SQLite: exactly one accept per code', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'race.db');
    const store = new SqliteStore(path);
    try {
      await race(store, `sqlite:${path}`, '');
    } finally {
      await store.close();
    }
  });

  it('Redis: exactly one accept per code', { skip: redisSkip }, async () => {
    const prefix = RedisStore.randomPrefix();
    const store = await RedisStore.connect(redisUrl as string, { keyPrefix: prefix });
    try {
      await race(store, redisUrl as string, prefix);
    } finally {
      await store.deleteAllWithPrefix();
      await store.close();
    }
  });
});

describe('SIGKILL in the middle of verifying', () => {
  it('leaves the SQLite store consistent and usable', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'kill.db');
    const key = randomBytes(32);
    const secret = randomBytes(20);
    const store = new SqliteStore(path);
    const v = new OtpValidator({ store, storeKey: key });
    await v.enroll({ id: 'race', type: 'hotp', secret });
    const { child, done } = run([
      `sqlite:${path}`,
      '',
      key.toString('hex'),
      secret.toString('hex'),
      '',
      'a',
      'b',
      '100000',
      'free',
    ]);
    let seen = 0;
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').length - 1;
        if (seen >= 300) resolve();
      });
    });
    child.kill('SIGKILL');
    await assert.rejects(done, /SIGKILL/);
    const db = new Database(path);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();
    const rec = await store.getCredential('race');
    assert.ok(rec !== undefined && rec.last >= 299 && rec.failures === 0);
    const last = rec.last;
    // the last accepted code stays rejected and the next one is accepted: no half-applied update
    await assert.rejects(v.verify('race', hotpBytes(secret, last, 'SHA1', 6).toString()), {
      code: 'ERR_OTP_REPLAYED',
    });
    assert.deepEqual(await v.verify('race', hotpBytes(secret, last + 1, 'SHA1', 6).toString()), {
      ok: true,
      type: 'hotp',
      counter: last + 1,
      drift: 0,
    });
    await store.close();
  });
});
