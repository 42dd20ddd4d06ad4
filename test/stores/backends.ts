import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, RedisStore, SqliteStore } from '../../src/stores/index.js';
import type { OfftokenStore } from '../../src/stores/types.js';

export const redisUrl = process.env.OFFTOKEN_TEST_REDIS_URL;
export const redisSkip = !redisUrl && 'set OFFTOKEN_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run';

export interface Backend {
  name: string;
  skip: string | false;
  open(): Promise<{ store: OfftokenStore; cleanup(): Promise<void>; sqlitePath?: string }>;
}

export const backends: Backend[] = [
  {
    name: 'memory',
    skip: false,
    async open() {
      const store = new MemoryStore();
      return { store, cleanup: () => store.close() };
    },
  },
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const sqlitePath = join(mkdtempSync(join(tmpdir(), 'offtoken-')), 'store.db');
      const store = new SqliteStore(sqlitePath);
      return { store, sqlitePath, cleanup: () => store.close() };
    },
  },
  {
    name: 'redis',
    skip: redisSkip,
    async open() {
      const store = await RedisStore.connect(redisUrl as string, { keyPrefix: RedisStore.randomPrefix() });
      return {
        store,
        async cleanup() {
          await store.deleteAllWithPrefix();
          await store.close();
        },
      };
    },
  },
];
