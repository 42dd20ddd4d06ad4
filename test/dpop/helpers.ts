import type { ReplayStore } from '../../src/stores/types.js';

/**
 * The smallest ReplayStore (the stores engineer's MemoryStore/SqliteStore/RedisStore implement the same
 * interface); verifiers only see the interface, so this exercises the same code path.
 */
export class MapReplayStore implements ReplayStore {
  readonly seen = new Map<string, number>();
  async consumeOnce(ns: string, key: string, expiresAt: number): Promise<boolean> {
    const k = `${ns}\u0000${key}`;
    const e = this.seen.get(k);
    if (e !== undefined && e > Date.now() / 1000) return false;
    this.seen.set(k, expiresAt);
    return true;
  }
}
