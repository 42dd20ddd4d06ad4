import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { OtpValidator } from '../../src/otp/validator.js';
import { RedisStore, SqliteStore } from '../../src/stores/index.js';
import type { OfftokenStore } from '../../src/stores/types.js';
import { backends, redisSkip, redisUrl } from '../stores/backends.js';

/*
 * Issue 9 item 2: the lockout must hold against guesses that arrive together. With maxFailures = 5, however
 * many verifies run at once, at most 5 wrong codes are evaluated per lock window and no code is accepted
 * once the threshold is reached - on a validator that has never seen the credential (a fresh read) and on
 * one that remembers it (the one-round-trip path), and across validators sharing the store.
 */

const T = 1_700_000_010;
const key = randomBytes(32);
const code = (secret: Buffer, counter: number) => hotpBytes(secret, counter, 'SHA1', 6).toString();

// A 6-digit code that matches none of the counters the validator looks at (0 .. 120).
function wrongCode(secret: Buffer, n: number): string {
  const used = new Set(Array.from({ length: 121 }, (_, c) => code(secret, c)));
  let v = 100_000 + n * 7919;
  while (used.has(String(v % 1_000_000).padStart(6, '0'))) v++;
  return String(v % 1_000_000).padStart(6, '0');
}

function outcome(r: PromiseSettledResult<unknown>): string {
  return r.status === 'fulfilled' ? 'ok' : ((r.reason as { code?: string }).code ?? String(r.reason));
}

function tally(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of results) t[outcome(r)] = (t[outcome(r)] ?? 0) + 1;
  return t;
}

for (const b of backends) {
  describe(`OTP lockout under concurrent guesses on ${b.name}`, { skip: b.skip }, () => {
    async function setup(warm: boolean) {
      const s = await b.open();
      const v = new OtpValidator({ store: s.store, storeKey: key, clock: () => T });
      const secret = randomBytes(20);
      await v.enroll({ id: 'u', type: 'hotp', secret });
      // warm: the validator remembers the record after a success and takes its one-round-trip path
      if (warm) assert.equal((await v.verify('u', code(secret, 0))).ok, true);
      return { ...s, v, secret, next: warm ? 1 : 0 };
    }

    for (const warm of [false, true]) {
      const how = warm ? 'a validator that remembers the record' : 'a fresh validator';
      it(`evaluates at most 5 of 40 wrong codes sent at once to ${how}`, async () => {
        const { v, store, secret, cleanup } = await setup(warm);
        try {
          const results = await Promise.allSettled(
            Array.from({ length: 40 }, (_, i) => v.verify('u', wrongCode(secret, i))),
          );
          assert.deepEqual(tally(results), { ERR_OTP_INVALID: 5, ERR_OTP_LOCKED: 35 });
          const rec = await store.getCredential('u');
          assert.equal(rec?.failures, 5);
          assert.equal(rec?.lockedUntil, T + 30);
        } finally {
          await cleanup();
        }
      });

      it(`refuses the right code sent last in a burst of 20 wrong ones to ${how}`, async () => {
        const { v, store, secret, next, cleanup } = await setup(warm);
        try {
          const before = (await store.getCredential('u'))?.last;
          const results = await Promise.allSettled([
            ...Array.from({ length: 20 }, (_, i) => v.verify('u', wrongCode(secret, i))),
            v.verify('u', code(secret, next)),
          ]);
          assert.equal(outcome(results[20] as PromiseSettledResult<unknown>), 'ERR_OTP_LOCKED');
          assert.deepEqual(tally(results), { ERR_OTP_INVALID: 5, ERR_OTP_LOCKED: 16 });
          assert.equal((await store.getCredential('u'))?.last, before);
          // and alone, while the lock lasts
          await assert.rejects(v.verify('u', code(secret, next)), { code: 'ERR_OTP_LOCKED' });
          await assert.rejects(v.verify('u', code(secret, next), { now: T + 29 }), {
            code: 'ERR_OTP_LOCKED',
          });
        } finally {
          await cleanup();
        }
      });

      it(`accepts the right code sent fifth, after 4 wrong ones, to ${how}`, async () => {
        const { v, store, secret, next, cleanup } = await setup(warm);
        try {
          const results = await Promise.allSettled([
            ...Array.from({ length: 4 }, (_, i) => v.verify('u', wrongCode(secret, i))),
            v.verify('u', code(secret, next)),
          ]);
          assert.deepEqual(results.map(outcome), [
            'ERR_OTP_INVALID',
            'ERR_OTP_INVALID',
            'ERR_OTP_INVALID',
            'ERR_OTP_INVALID',
            'ok',
          ]);
          const rec = await store.getCredential('u');
          assert.equal(rec?.last, next);
          assert.equal(rec?.failures, 0);
          assert.equal(rec?.lockedUntil, 0);
        } finally {
          await cleanup();
        }
      });
    }

    it('evaluates at most 5 wrong codes across four validators sharing the store', async () => {
      const { v, store, secret, cleanup } = await setup(true);
      try {
        const others = Array.from(
          { length: 3 },
          () => new OtpValidator({ store, storeKey: key, clock: () => T }),
        );
        const all = [v, ...others];
        const results = await Promise.allSettled(
          Array.from({ length: 40 }, (_, i) =>
            (all[i % 4] as OtpValidator).verify('u', wrongCode(secret, i)),
          ),
        );
        assert.deepEqual(tally(results), { ERR_OTP_INVALID: 5, ERR_OTP_LOCKED: 35 });
        assert.equal((await store.getCredential('u'))?.failures, 5);
      } finally {
        await cleanup();
      }
    });

    it('after the lock expires admits one attempt per window, each doubling the lock', async () => {
      const { v, store, secret, cleanup } = await setup(true);
      try {
        await Promise.allSettled(Array.from({ length: 40 }, (_, i) => v.verify('u', wrongCode(secret, i))));
        const later = { now: T + 30 };
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => v.verify('u', wrongCode(secret, i), later)),
        );
        assert.deepEqual(tally(results), { ERR_OTP_INVALID: 1, ERR_OTP_LOCKED: 9 });
        const rec = await store.getCredential('u');
        assert.equal(rec?.failures, 6);
        assert.equal(rec?.lockedUntil, T + 30 + 60);
        // the right code once that lock is over is accepted and clears the count
        assert.equal((await v.verify('u', code(secret, 1), { now: T + 90 })).ok, true);
        assert.equal((await store.getCredential('u'))?.failures, 0);
      } finally {
        await cleanup();
      }
    });

    it('counts a replayed code as a failed attempt and a wrong-length code not at all', async () => {
      const { v, store, secret, cleanup } = await setup(true);
      try {
        await assert.rejects(v.verify('u', code(secret, 0)), { code: 'ERR_OTP_REPLAYED' });
        assert.equal((await store.getCredential('u'))?.failures, 1);
        await assert.rejects(v.verify('u', '12345678'), { code: 'ERR_OTP_FORMAT' });
        assert.equal((await store.getCredential('u'))?.failures, 1);
      } finally {
        await cleanup();
      }
    });
  });
}

const worker = fileURLToPath(new URL('../stores/fixtures/lockout-worker.ts', import.meta.url));

function runWorker(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', worker, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(JSON.parse(stdout) as string[]),
    );
  });
}

// 4 processes, each sending 10 wrong codes at once after a barrier: the lockout holds across processes.
async function processes(store: OfftokenStore, url: string, prefix: string): Promise<void> {
  const storeKey = randomBytes(32);
  const secret = randomBytes(20);
  const v = new OtpValidator({ store, storeKey, clock: () => T });
  await v.enroll({ id: 'u', type: 'hotp', secret });
  const dir = mkdtempSync(join(tmpdir(), 'offtoken-lockout-'));
  const outcomes = await Promise.all(
    Array.from({ length: 4 }, (_, w) =>
      runWorker([
        url,
        prefix,
        storeKey.toString('hex'),
        dir,
        String(w),
        '4',
        String(T),
        Array.from({ length: 10 }, (_, i) => wrongCode(secret, w * 10 + i)).join(','),
      ]),
    ),
  );
  const t: Record<string, number> = {};
  for (const o of outcomes.flat()) t[o] = (t[o] ?? 0) + 1;
  assert.deepEqual(t, { ERR_OTP_INVALID: 5, ERR_OTP_LOCKED: 35 });
  assert.equal((await store.getCredential('u'))?.failures, 5);
  await assert.rejects(v.verify('u', code(secret, 0)), { code: 'ERR_OTP_LOCKED' });
}

describe('OTP lockout under concurrent guesses from 4 processes x 10', () => {
  it('SQLite: at most 5 of 40 wrong codes evaluated', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'lock.db');
    const store = new SqliteStore(path);
    try {
      await processes(store, `sqlite:${path}`, '');
    } finally {
      await store.close();
    }
  });

  it('Redis: at most 5 of 40 wrong codes evaluated', { skip: redisSkip }, async () => {
    const prefix = RedisStore.randomPrefix();
    const store = await RedisStore.connect(redisUrl as string, { keyPrefix: prefix });
    try {
      await processes(store, redisUrl as string, prefix);
    } finally {
      await store.deleteAllWithPrefix();
      await store.close();
    }
  });
});
