import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../errors/stores.js';
import type { LockoutPolicy, NewOtpCredential, OfftokenStore, OtpCredentialRecord } from './types.js';

// Each script runs atomically inside Redis, so several validators on several hosts never interleave
// a read-compare-write (the compare-and-set that makes a code single-use).
const ADVANCE = `local v = redis.call('GET', KEYS[1])
if (not v) or tonumber(ARGV[1]) > tonumber(v) then redis.call('SET', KEYS[1], ARGV[1]) return 1 end
return 0`;
const CREATE = `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV)) return 1`;
const SUCCESS = `local last = redis.call('HGET', KEYS[1], 'last')
if (not last) or tonumber(ARGV[1]) <= tonumber(last) then return 0 end
redis.call('HSET', KEYS[1], 'last', ARGV[1], 'drift', ARGV[2], 'failures', 0, 'lockedUntil', 0) return 1`;
const SUCCESS_IF = `local h = redis.call('HMGET', KEYS[1], 'last', 'drift', 'sealedSecret', 'lockedUntil')
if (not h[1]) or tonumber(h[1]) ~= tonumber(ARGV[1]) or tonumber(h[2]) ~= tonumber(ARGV[2]) or h[3] ~= ARGV[3]
  or (tonumber(h[4]) or 0) > tonumber(ARGV[4]) or tonumber(ARGV[5]) <= tonumber(h[1]) then return 0 end
redis.call('HSET', KEYS[1], 'last', ARGV[5], 'drift', ARGV[6], 'failures', 0, 'lockedUntil', 0) return 1`;
const FAILURE = `if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local maxf = tonumber(ARGV[2])
local until_ = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil') or '0')
if f >= maxf then
  local d = tonumber(ARGV[3]) * (2 ^ math.min(f - maxf, 30))
  if d > tonumber(ARGV[4]) then d = tonumber(ARGV[4]) end
  until_ = tonumber(ARGV[1]) + d
  redis.call('HSET', KEYS[1], 'lockedUntil', string.format('%d', until_))
end
return {f, string.format('%d', until_)}`;

interface Scripts {
  offtokenAdvance(key: string, value: number): Promise<number>;
  offtokenCreate(key: string, ...fields: (string | number)[]): Promise<number>;
  offtokenSuccess(key: string, last: number, drift: number): Promise<number>;
  offtokenSuccessIf(
    key: string,
    last: number,
    drift: number,
    sealed: string,
    now: number,
    newLast: number,
    newDrift: number,
  ): Promise<number>;
  offtokenFailure(
    key: string,
    now: number,
    max: number,
    base: number,
    maxDelay: number,
  ): Promise<[number, string]>;
}

export interface RedisStoreOptions {
  /** Prepended to every key (default `offtoken:`), so several apps or test runs can share one database. */
  keyPrefix?: string;
  /** Bound on the initial connect (ms, default 2000). */
  connectTimeoutMs?: number;
}

/** Shared store for many validators: Redis with every update a single Lua script or `SET NX`. */
export class RedisStore implements OfftokenStore {
  readonly #r: Redis & Scripts;
  readonly #p: string;

  private constructor(r: Redis, prefix: string) {
    this.#r = r as Redis & Scripts;
    this.#p = prefix;
  }

  /** Connects (bounded by the timeout, no endless retry) or throws ERR_STORE_UNAVAILABLE. */
  static async connect(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const timeout = options.connectTimeoutMs ?? 2000;
    // Loaded on first use: a validator on SQLite or memory never pays for the Redis client.
    const { Redis } = await import('ioredis');
    const r = new Redis(url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      connectTimeout: timeout,
      maxRetriesPerRequest: 2,
      // A few quick reconnects for a blip, then give up so a CLI exits instead of hanging.
      retryStrategy: (times) => (times > 3 ? null : Math.min(times * 200, 1000)),
    });
    r.on('error', () => {});
    try {
      await r.connect();
    } catch (e) {
      r.disconnect();
      throw new StoreUnavailableError(`cannot reach Redis store: ${(e as Error).message}`, { cause: e });
    }
    r.defineCommand('offtokenAdvance', { numberOfKeys: 1, lua: ADVANCE });
    r.defineCommand('offtokenCreate', { numberOfKeys: 1, lua: CREATE });
    r.defineCommand('offtokenSuccess', { numberOfKeys: 1, lua: SUCCESS });
    r.defineCommand('offtokenSuccessIf', { numberOfKeys: 1, lua: SUCCESS_IF });
    r.defineCommand('offtokenFailure', { numberOfKeys: 1, lua: FAILURE });
    return new RedisStore(r, options.keyPrefix ?? 'offtoken:');
  }

  /** A fresh random prefix, for tests that must not collide. */
  static randomPrefix(): string {
    return `offtoken-test:${randomBytes(6).toString('hex')}:`;
  }

  get prefix(): string {
    return this.#p;
  }

  /** The underlying client (tests read raw hashes with it). */
  get client(): Redis {
    return this.#r;
  }

  // A dropped connection or a Redis error surfaces as one typed error, never as an ioredis internal.
  async #run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw new StoreUnavailableError(`Redis store operation failed: ${(e as Error).message}`, { cause: e });
    }
  }

  #cred(id: string): string {
    return `${this.#p}otp:${id}`;
  }

  async consumeOnce(namespace: string, key: string, expiresAt: number): Promise<boolean> {
    const at = Math.max(1, Math.ceil(expiresAt));
    const res = await this.#run(() =>
      this.#r.set(`${this.#p}replay:${namespace}:${key}`, '1', 'EXAT', at, 'NX'),
    );
    return res === 'OK';
  }

  async advanceCounter(namespace: string, key: string, value: number): Promise<boolean> {
    return (
      (await this.#run(() => this.#r.offtokenAdvance(`${this.#p}counter:${namespace}:${key}`, value))) === 1
    );
  }

  async getCredential(id: string): Promise<OtpCredentialRecord | undefined> {
    const h = await this.#run(() => this.#r.hgetall(this.#cred(id)));
    if (h.sealedSecret === undefined) return undefined;
    return {
      id,
      type: h.type as OtpCredentialRecord['type'],
      algorithm: h.algorithm as OtpCredentialRecord['algorithm'],
      digits: Number(h.digits),
      period: Number(h.period),
      sealedSecret: h.sealedSecret,
      last: Number(h.last),
      drift: Number(h.drift),
      failures: Number(h.failures),
      lockedUntil: Number(h.lockedUntil),
      createdAt: Number(h.createdAt),
    };
  }

  async createCredential(c: NewOtpCredential): Promise<boolean> {
    return (
      (await this.#run(() =>
        this.#r.offtokenCreate(
          this.#cred(c.id),
          'type',
          c.type,
          'algorithm',
          c.algorithm,
          'digits',
          c.digits,
          'period',
          c.period,
          'sealedSecret',
          c.sealedSecret,
          'last',
          -1,
          'drift',
          0,
          'failures',
          0,
          'lockedUntil',
          0,
          'createdAt',
          c.createdAt,
        ),
      )) === 1
    );
  }

  async recordSuccess(id: string, last: number, drift: number): Promise<boolean> {
    return (await this.#run(() => this.#r.offtokenSuccess(this.#cred(id), last, drift))) === 1;
  }

  async recordSuccessIfUnchanged(
    id: string,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    now: number,
    last: number,
    drift: number,
  ): Promise<boolean> {
    return (
      (await this.#run(() =>
        this.#r.offtokenSuccessIf(
          this.#cred(id),
          expected.last,
          expected.drift,
          expected.sealedSecret,
          now,
          last,
          drift,
        ),
      )) === 1
    );
  }

  async recordFailure(
    id: string,
    now: number,
    policy: LockoutPolicy,
  ): Promise<{ failures: number; lockedUntil: number }> {
    const [f, u] = await this.#run(() =>
      this.#r.offtokenFailure(
        this.#cred(id),
        Math.floor(now),
        policy.maxFailures,
        policy.baseDelay,
        policy.maxDelay,
      ),
    );
    return { failures: Number(f), lockedUntil: Number(u) };
  }

  async deleteCredential(id: string): Promise<boolean> {
    return (await this.#run(() => this.#r.del(this.#cred(id)))) === 1;
  }

  /** Deletes every key under this store's prefix (tests clean up with it). */
  async deleteAllWithPrefix(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#r.scan(cursor, 'MATCH', `${this.#p}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await this.#r.del(...keys);
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    if (this.#r.status === 'end') return;
    try {
      await this.#r.quit();
    } catch {
      this.#r.disconnect();
    }
  }
}
