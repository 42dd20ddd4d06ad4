import { StoreUrlInvalidError } from '../errors/stores.js';
import { MemoryStore } from './memory.js';
import { RedisStore, type RedisStoreOptions } from './redis.js';
import { DEFAULT_SQLITE_PATH, SqliteStore } from './sqlite.js';
import type { OfftokenStore } from './types.js';

const MAX_URL = 4096;

/**
 * Opens a store from a URL: `memory:`, `sqlite:PATH` (`sqlite:` alone = .offtoken/store.db),
 * `redis://[user:pass@]HOST:PORT[/db]` or `rediss://...`. See docs/stores.md.
 */
export async function openStore(url: string, options: RedisStoreOptions = {}): Promise<OfftokenStore> {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL) {
    throw new StoreUrlInvalidError('store URL must be memory:, sqlite:PATH or redis://HOST:PORT[/db]');
  }
  if (url === 'memory:') return new MemoryStore();
  if (url.startsWith('sqlite:')) {
    const p = url.slice('sqlite:'.length);
    if (p.includes('\u0000')) throw new StoreUrlInvalidError('sqlite: path contains a NUL byte');
    return new SqliteStore(p === '' ? DEFAULT_SQLITE_PATH : p);
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreUrlInvalidError('redis store URL is not a valid URL (redis://HOST:PORT[/db])');
    }
    const db = u.pathname.replace(/^\//, '');
    if (u.hostname === '' || (db !== '' && !/^\d{1,2}$/.test(db)) || u.search !== '' || u.hash !== '') {
      throw new StoreUrlInvalidError('redis store URL must be redis://HOST:PORT[/db] with db a small number');
    }
    return RedisStore.connect(url, options);
  }
  throw new StoreUrlInvalidError('store URL must be memory:, sqlite:PATH or redis://HOST:PORT[/db]');
}
