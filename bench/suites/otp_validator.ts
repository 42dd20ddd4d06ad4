import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hotpBytes } from '../../src/otp/credential_codes.js';
import { OtpValidator } from '../../src/otp/validator.js';
import { MemoryStore, RedisStore, SqliteStore } from '../../src/stores/index.js';
import type { OfftokenStore } from '../../src/stores/types.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/*
 * Accepted verifies per second on each store. HOTP credentials are used so every call is a fresh,
 * valid code (one store read + one compare-and-set write each); the code for the next counter is
 * computed inside the loop, so one extra HMAC per op is included in every figure.
 */
const CREDS = 256;
const closers: (() => Promise<void>)[] = [];

async function prepared(store: OfftokenStore) {
  const secret = randomBytes(20);
  const v = new OtpValidator({ store, storeKey: randomBytes(32) });
  const next = new Array<number>(CREDS).fill(0);
  for (let i = 0; i < CREDS; i++) await v.enroll({ id: `b${i}`, type: 'hotp', secret });
  let rr = 0;
  const one = async (i: number) => {
    const c = next[i] as number;
    next[i] = c + 1;
    await v.verify(`b${i}`, hotpBytes(secret, c, 'SHA1', 6).toString());
  };
  return {
    fn: () => {
      rr = (rr + 1) % CREDS;
      return one(rr);
    },
    // Many verifies in flight, each on its own credential (a network store is latency-bound; SQLite
    // commits the writes of one event-loop turn together).
    measure: async (ms: number) => {
      const end = Date.now() + ms;
      let ops = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 64 }, async (_, w) => {
          for (let k = w; Date.now() < end; k = (k + 64) % CREDS) {
            await one(k);
            ops++;
          }
        }),
      );
      return ops / (Number(process.hrtime.bigint() - t0) / 1e9);
    },
  };
}

export const suite: BenchSuite = {
  name: 'otp-validator',
  async setup(): Promise<BenchCase[]> {
    const cases: BenchCase[] = [];
    const mem = await prepared(new MemoryStore());
    cases.push({ case: 'otp validator verify (memory)', impl: 'offtoken', fn: mem.fn });
    cases.push({
      case: 'otp validator verify (memory, 64 in flight)',
      impl: 'offtoken',
      measure: mem.measure,
    });
    const sqlite = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'offtoken-bench-')), 'bench.db'));
    closers.push(() => sqlite.close());
    const sq = await prepared(sqlite);
    cases.push({ case: 'otp validator verify (sqlite)', impl: 'offtoken', fn: sq.fn });
    // A validator serving requests has many verifies in flight; their writes share one commit.
    cases.push({
      case: 'otp validator verify (sqlite, 64 in flight)',
      impl: 'offtoken',
      measure: sq.measure,
    });
    const url = process.env.OFFTOKEN_TEST_REDIS_URL;
    if (url) {
      const redis = await RedisStore.connect(url, { keyPrefix: RedisStore.randomPrefix() });
      closers.push(async () => {
        await redis.deleteAllWithPrefix();
        await redis.close();
      });
      const rd = await prepared(redis);
      cases.push({ case: 'otp validator verify (redis)', impl: 'offtoken', fn: rd.fn });
      cases.push({
        case: 'otp validator verify (redis, 64 in flight)',
        impl: 'offtoken',
        measure: rd.measure,
      });
    } else {
      console.error(
        'otp-validator: set OFFTOKEN_TEST_REDIS_URL=redis://127.0.0.1:6379/15 for the Redis case',
      );
    }
    return cases;
  },
  async teardown() {
    for (const c of closers.splice(0)) await c();
  },
};
