export { MemoryStore } from './memory.js';
export { openStore } from './open.js';
export { RedisStore, type RedisStoreOptions } from './redis.js';
export { DEFAULT_SQLITE_PATH, SqliteStore } from './sqlite.js';
export { dataDirStoreKey, dataDirStoreUrl, resolveStoreKey } from './store-key.js';
export * from './types.js';
