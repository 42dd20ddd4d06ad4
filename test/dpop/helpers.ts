import { MemoryStore } from '../../src/stores/memory.js';
import type { ReplayStore } from '../../src/stores/types.js';

/**
 * The real MemoryStore (src/stores), plus a record of the keys it accepted so a test can assert that a
 * rejected proof consumed no jti. SQLite and Redis run the same checks in replay-backends.test.ts.
 */
export class MapReplayStore implements ReplayStore {
  readonly seen = new Set<string>();
  readonly #inner = new MemoryStore();
  async consumeOnce(ns: string, key: string, expiresAt: number): Promise<boolean> {
    const fresh = await this.#inner.consumeOnce(ns, key, expiresAt);
    if (fresh) this.seen.add(`${ns}\u0000${key}`);
    return fresh;
  }
}
