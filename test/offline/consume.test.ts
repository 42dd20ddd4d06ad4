import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OfflineTokenGenerator } from '../../src/offline/index.js';
import { openStore } from '../../src/stores/index.js';
import { fixedClock, macKey, rejectsCode, sealedKey, signedKey } from './helpers.js';

const redisUrl = process.env.OFFTOKEN_TEST_REDIS_URL;
const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));

const backends = [
  { name: 'memory', url: 'memory:', skip: false as const },
  { name: 'sqlite', url: `sqlite:${join(dir, 'replay.db')}`, skip: false as const },
  {
    name: 'redis',
    url: redisUrl ?? '',
    skip: !redisUrl && 'set OFFTOKEN_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run',
  },
];

for (const b of backends) {
  describe(`one-time use over ${b.name}`, { skip: b.skip }, () => {
    let store: Awaited<ReturnType<typeof openStore>>;
    const ns = `offtoken-test:${randomBytes(6).toString('hex')}`;
    const open = async () => {
      store ??= await openStore(b.url);
      return store;
    };
    after(async () => {
      await store?.close();
    });

    it('accepts a token once, then ERR_OFFLINE_TOKEN_REPLAYED', async () => {
      const s = await open();
      const gen = new OfflineTokenGenerator({ key: sealedKey(), namespace: ns });
      const t = gen.generate({ a: 1 });
      assert.deepEqual(await gen.read(t, { consume: s }), { a: 1 });
      await rejectsCode(() => gen.read(t, { consume: s }), 'ERR_OFFLINE_TOKEN_REPLAYED');
      // a fresh token is still fine
      assert.deepEqual(await gen.read(gen.generate({ a: 2 }), { consume: s }), { a: 2 });
    });

    it('enforces a strictly increasing ctr per device: ERR_OFFLINE_COUNTER_REPLAYED', async () => {
      const s = await open();
      const gen = new OfflineTokenGenerator({ key: signedKey(), namespace: ns });
      const t5 = gen.generate(undefined, { device: 'dev-A', ctr: 5 });
      const t3 = gen.generate(undefined, { device: 'dev-A', ctr: 3 });
      const t5b = gen.generate(undefined, { device: 'dev-A', ctr: 5 });
      const other = gen.generate(undefined, { device: 'dev-B', ctr: 1 });
      const t6 = gen.generate(undefined, { device: 'dev-A', ctr: 6 });
      await gen.read(t5, { consume: s });
      await rejectsCode(() => gen.read(t3, { consume: s }), 'ERR_OFFLINE_COUNTER_REPLAYED');
      await rejectsCode(() => gen.read(t5b, { consume: s }), 'ERR_OFFLINE_COUNTER_REPLAYED');
      await gen.read(other, { consume: s });
      await gen.read(t6, { consume: s });
      // the refused token stays refused, now as a replay
      await rejectsCode(() => gen.read(t3, { consume: s }), 'ERR_OFFLINE_TOKEN_REPLAYED');
    });

    it('an expired token is refused as expired before it touches the store', async () => {
      const s = await open();
      const c = fixedClock(Math.floor(Date.now() / 1000));
      const gen = new OfflineTokenGenerator({ key: macKey(), namespace: ns, ttlSeconds: 10, clock: c.clock });
      const t = gen.generate('x');
      c.add(11);
      await rejectsCode(() => gen.read(t, { consume: s }), 'ERR_OFFLINE_TOKEN_EXPIRED');
    });

    it('concurrent reads of one token: exactly one wins', async () => {
      const s = await open();
      const gen = new OfflineTokenGenerator({ key: macKey(), namespace: ns });
      const t = gen.generate('once');
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => gen.read(t, { consume: s })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results)
        if (r.status === 'rejected')
          assert.equal((r.reason as { code: string }).code, 'ERR_OFFLINE_TOKEN_REPLAYED');
    });
  });
}
