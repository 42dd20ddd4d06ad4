import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MemoryStore, openStore, RedisStore, SqliteStore } from '../../src/stores/index.js';
import { backends, redisSkip, redisUrl } from './backends.js';

const now = Math.floor(Date.now() / 1000);

for (const b of backends) {
  describe(`ReplayStore and CounterStore on ${b.name}`, { skip: b.skip }, () => {
    it('consumeOnce holds a key until it expires', async () => {
      const { store, cleanup } = await b.open();
      try {
        assert.equal(await store.consumeOnce('ns', 'k', now + 60), true);
        assert.equal(await store.consumeOnce('ns', 'k', now + 60), false);
        assert.equal(await store.consumeOnce('other', 'k', now + 60), true);
        assert.equal(await store.consumeOnce('ns', 'gone', now - 10), true);
        assert.equal(
          await store.consumeOnce('ns', 'gone', now + 60),
          true,
          'an expired entry does not block',
        );
      } finally {
        await cleanup();
      }
    });

    it('consumeOnce accepts exactly one of many concurrent calls', async () => {
      const { store, cleanup } = await b.open();
      try {
        const r = await Promise.all(
          Array.from({ length: 50 }, () => store.consumeOnce('ns', 'same', now + 60)),
        );
        assert.equal(r.filter(Boolean).length, 1);
      } finally {
        await cleanup();
      }
    });

    it('advanceCounter only moves forward', async () => {
      const { store, cleanup } = await b.open();
      try {
        assert.equal(await store.advanceCounter('ns', 'c', 0), true);
        assert.equal(await store.advanceCounter('ns', 'c', 0), false);
        assert.equal(await store.advanceCounter('ns', 'c', 5), true);
        assert.equal(await store.advanceCounter('ns', 'c', 3), false);
        assert.equal(await store.advanceCounter('ns', 'c', 6), true);
      } finally {
        await cleanup();
      }
    });

    it('recordSuccess is a compare-and-set on the last step', async () => {
      const { store, cleanup } = await b.open();
      try {
        const base = {
          id: 'c',
          type: 'totp',
          algorithm: 'SHA1',
          digits: 6,
          period: 30,
          sealedSecret: 'x',
          createdAt: 1,
        } as const;
        assert.equal(await store.createCredential(base), true);
        assert.equal(await store.createCredential(base), false);
        assert.equal(await store.recordSuccess('c', 10, 1), true);
        assert.equal(await store.recordSuccess('c', 10, 1), false);
        assert.equal(await store.recordSuccess('c', 9, 0), false);
        assert.equal(await store.recordSuccess('missing', 10, 0), false);
        const r = await Promise.all(Array.from({ length: 20 }, () => store.recordSuccess('c', 11, 0)));
        assert.equal(r.filter(Boolean).length, 1);
        assert.deepEqual(
          await store.admitAttempt('missing', {
            now,
            policy: { maxFailures: 1, baseDelay: 1, maxDelay: 1 },
            digits: 6,
          }),
          { status: 'unknown' },
        );
        assert.equal(await store.deleteCredential('c'), true);
        assert.equal(await store.getCredential('c'), undefined);
      } finally {
        await cleanup();
      }
    });

    it('lists credential ids sorted and bounded, and unlock clears failures and the lock only', async () => {
      const { store, cleanup } = await b.open();
      try {
        // glob characters in an id are listed literally (Redis lists with SCAN MATCH)
        for (const id of ['zed', 'a*b', 'mid']) {
          const cred = {
            type: 'hotp',
            algorithm: 'SHA1',
            digits: 6,
            period: 30,
            sealedSecret: 's',
            createdAt: 1,
          } as const;
          assert.equal(await store.createCredential({ id, ...cred }), true);
        }
        assert.deepEqual(await store.listCredentialIds?.(10), ['a*b', 'mid', 'zed']);
        assert.deepEqual(await store.listCredentialIds?.(2), ['a*b', 'mid']);
        assert.equal(await store.recordSuccess('mid', 4, 0), true);
        const policy = { maxFailures: 1, baseDelay: 60, maxDelay: 60 };
        assert.equal((await store.admitAttempt('mid', { now, policy, digits: 6 })).status, 'admitted');
        assert.equal((await store.admitAttempt('mid', { now, policy, digits: 6 })).status, 'locked');
        assert.equal(await store.unlockCredential?.('mid'), true);
        const r = await store.getCredential('mid');
        assert.deepEqual([r?.failures, r?.lockedUntil, r?.last, r?.sealedSecret], [0, 0, 4, 's']);
        assert.equal(await store.unlockCredential?.('missing'), false);
        // unlocking an unknown id creates nothing
        assert.equal(await store.getCredential('missing'), undefined);
        assert.deepEqual(await store.listCredentialIds?.(10), ['a*b', 'mid', 'zed']);
      } finally {
        await cleanup();
      }
    });

    it('admits at most maxFailures attempts at once, then refuses them locked without writing', async () => {
      const { store, cleanup } = await b.open();
      try {
        const cred = {
          id: 'l',
          type: 'totp',
          algorithm: 'SHA1',
          digits: 6,
          period: 30,
          sealedSecret: 's',
          createdAt: 1,
        } as const;
        await store.createCredential(cred);
        const policy = { maxFailures: 5, baseDelay: 30, maxDelay: 3600 };
        const t = 1_700_000_000.5;
        // a code of another length is refused uncounted
        assert.deepEqual(await store.admitAttempt('l', { now: t, policy, digits: 8 }), {
          status: 'format',
          digits: 6,
        });
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => store.admitAttempt('l', { now: t, policy, digits: 6 })),
        );
        const admitted = answers.filter((a) => a.status === 'admitted');
        assert.deepEqual(
          admitted.map((a) => a.status === 'admitted' && a.record.failures),
          [1, 2, 3, 4, 5],
        );
        // the fifth admission set the lock it returned; every later one is refused with it
        const fifth = admitted[4];
        assert.ok(fifth?.status === 'admitted' && fifth.record.lockedUntil === 1_700_000_030);
        for (const a of answers.slice(5))
          assert.deepEqual(a, { status: 'locked', lockedUntil: 1_700_000_030 });
        const rec = await store.getCredential('l');
        assert.equal(rec?.failures, 5);
        assert.equal(rec?.lockedUntil, 1_700_000_030);
        // a success decided on a remembered record is refused at the threshold even once the lock expired,
        // and admitted (counted, locked again for twice as long) instead
        const later = 1_700_000_031;
        assert.deepEqual(
          await store.acceptIfUnchanged?.(
            'l',
            { now: later, policy, digits: 6 },
            rec as NonNullable<typeof rec>,
            7,
            0,
          ),
          {
            status: 'admitted',
            record: { ...(rec as NonNullable<typeof rec>), failures: 6, lockedUntil: later + 60 },
          },
        );
        assert.equal((await store.getCredential('l'))?.last, -1);
        // after an admission a success clears failures and the lock
        assert.equal(await store.recordSuccess('l', 7, 0), true);
        const cleared = await store.getCredential('l');
        assert.equal(cleared?.failures, 0);
        assert.equal(cleared?.lockedUntil, 0);
        assert.deepEqual(
          await store.acceptIfUnchanged?.(
            'l',
            { now: later, policy, digits: 6 },
            cleared as NonNullable<typeof cleared>,
            8,
            0,
          ),
          { status: 'accepted' },
        );
      } finally {
        await cleanup();
      }
    });
  });
}

describe('openStore', () => {
  it('opens memory: and sqlite:PATH', async () => {
    const m = await openStore('memory:');
    assert.ok(m instanceof MemoryStore);
    await m.close();
    const p = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'sub', 'x.db');
    const s = await openStore(`sqlite:${p}`);
    assert.ok(s instanceof SqliteStore);
    await s.close();
    const db = new Database(p, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  for (const bad of [
    '',
    'memory',
    'mysql://h',
    'sqlite',
    'redis://',
    'redis://h:6379/abc',
    'redis://h/1?x=1',
    'x'.repeat(5000),
  ]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 20))} with ERR_STORE_URL_INVALID`, async () => {
      await assert.rejects(openStore(bad), { code: 'ERR_STORE_URL_INVALID' });
    });
  }

  it('reports an unreachable Redis as ERR_STORE_UNAVAILABLE quickly', async () => {
    await assert.rejects(openStore('redis://127.0.0.1:1/0'), { code: 'ERR_STORE_UNAVAILABLE' });
  });

  it('reports an unopenable SQLite file as ERR_STORE_UNAVAILABLE', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'junk.db');
    writeFileSync(p, 'this is not a sqlite database, just junk bytes '.repeat(200));
    await assert.rejects(openStore(`sqlite:${p}`), { code: 'ERR_STORE_UNAVAILABLE' });
  });
});

describe('SqliteStore housekeeping', () => {
  it('prunes expired replay entries lazily', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'prune.db');
    const s = new SqliteStore(p);
    for (let i = 0; i < 200; i++) await s.consumeOnce('ns', `old${i}`, now - 100);
    for (let i = 0; i < 60; i++) await s.consumeOnce('ns', `new${i}`, now + 100);
    await s.close();
    const db = new Database(p, { readonly: true });
    const count = db.prepare('SELECT count(*) AS n FROM replay WHERE expires_at <= ?').get(now) as {
      n: number;
    };
    const live = db.prepare('SELECT count(*) AS n FROM replay WHERE expires_at > ?').get(now) as {
      n: number;
    };
    db.close();
    assert.ok(count.n < 200, `expired rows left: ${count.n}`);
    assert.equal(live.n, 60);
  });

  it('a closed store answers ERR_STORE_UNAVAILABLE', async () => {
    const s = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'c.db'));
    await s.close();
    await assert.rejects(s.consumeOnce('ns', 'k', now + 1), { code: 'ERR_STORE_UNAVAILABLE' });
    await assert.rejects(s.getCredential('x'), { code: 'ERR_STORE_UNAVAILABLE' });
  });
});

describe('RedisStore connection loss', { skip: redisSkip }, () => {
  it('a closed client answers ERR_STORE_UNAVAILABLE', async () => {
    const s = await RedisStore.connect(redisUrl as string, { keyPrefix: RedisStore.randomPrefix() });
    await s.close();
    await assert.rejects(s.consumeOnce('ns', 'k', now + 1), { code: 'ERR_STORE_UNAVAILABLE' });
    await assert.rejects(s.recordSuccess('x', 1, 0), { code: 'ERR_STORE_UNAVAILABLE' });
  });
});

describe('SqliteStore schema version', () => {
  it('refuses a file from a newer schema with ERR_STORE_UNAVAILABLE', async () => {
    const p = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'v.db');
    const db = new Database(p);
    db.pragma('user_version = 99');
    db.close();
    await assert.rejects(openStore(`sqlite:${p}`), { code: 'ERR_STORE_UNAVAILABLE' });
  });
});
