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
          await store.recordFailure('missing', now, { maxFailures: 1, baseDelay: 1, maxDelay: 1 }),
          {
            failures: 0,
            lockedUntil: 0,
          },
        );
        assert.equal(await store.deleteCredential('c'), true);
        assert.equal(await store.getCredential('c'), undefined);
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
