import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../errors/stores.js';
import type {
  NewOtpCredential,
  OfftokenStore,
  OtpAttempt,
  OtpAttemptInput,
  OtpCredentialRecord,
} from './types.js';

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
// The admission (docs/stores.md, lockout): refuses while locked or for a code of another length; otherwise
// counts the attempt as a failure, locking at the threshold, and returns the new record, all before the
// code is evaluated. ARGV from `base`: now, maxFailures, baseDelay, maxDelay, digits.
const UNLOCK = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'failures', 0, 'lockedUntil', 0)
return 1`;
const ADMIT_FN = `local function admit(key, base)
  local now = tonumber(ARGV[base])
  local h = redis.call('HMGET', key, 'sealedSecret', 'lockedUntil', 'digits')
  if not h[1] then return {0} end
  local lu = tonumber(h[2]) or 0
  if lu > now then return {1, string.format('%d', lu)} end
  if tonumber(h[3]) ~= tonumber(ARGV[base + 4]) then return {2, h[3]} end
  local f = redis.call('HINCRBY', key, 'failures', 1)
  local maxf = tonumber(ARGV[base + 1])
  if f >= maxf then
    local d = tonumber(ARGV[base + 2]) * (2 ^ math.min(f - maxf, 30))
    if d > tonumber(ARGV[base + 3]) then d = tonumber(ARGV[base + 3]) end
    redis.call('HSET', key, 'lockedUntil', string.format('%d', math.floor(now) + d))
  end
  return {3, redis.call('HGETALL', key)}
end
`;
const ADMIT = `${ADMIT_FN}return admit(KEYS[1], 1)`;
// A success decided on a remembered record: only if that record is still the stored one, unlocked and below
// the failure threshold; otherwise the same script admits the attempt. ARGV: expected last, drift, sealed
// secret, new last, new drift, then the admission's five.
const ACCEPT_IF = `${ADMIT_FN}local h = redis.call('HMGET', KEYS[1], 'last', 'drift', 'sealedSecret', 'lockedUntil', 'failures')
if h[1] and tonumber(h[1]) == tonumber(ARGV[1]) and tonumber(h[2]) == tonumber(ARGV[2]) and h[3] == ARGV[3]
  and (tonumber(h[4]) or 0) <= tonumber(ARGV[6]) and (tonumber(h[5]) or 0) < tonumber(ARGV[7])
  and tonumber(ARGV[4]) > tonumber(h[1]) then
  redis.call('HSET', KEYS[1], 'last', ARGV[4], 'drift', ARGV[5], 'failures', 0, 'lockedUntil', 0)
  return {4}
end
return admit(KEYS[1], 6)`;

type ScriptAnswer = [number, (string | string[])?];

interface Scripts {
  offtokenAdvance(key: string, value: number): Promise<number>;
  offtokenCreate(key: string, ...fields: (string | number)[]): Promise<number>;
  offtokenSuccess(key: string, last: number, drift: number): Promise<number>;
  offtokenAdmit(key: string, ...args: (string | number)[]): Promise<ScriptAnswer>;
  offtokenAcceptIf(key: string, ...args: (string | number)[]): Promise<ScriptAnswer>;
  offtokenUnlock(key: string): Promise<number>;
}

function toRecord(id: string, h: Record<string, string>): OtpCredentialRecord {
  return {
    id,
    type: h.type as OtpCredentialRecord['type'],
    algorithm: h.algorithm as OtpCredentialRecord['algorithm'],
    digits: Number(h.digits),
    period: Number(h.period),
    sealedSecret: h.sealedSecret as string,
    last: Number(h.last),
    drift: Number(h.drift),
    failures: Number(h.failures),
    lockedUntil: Number(h.lockedUntil),
    createdAt: Number(h.createdAt),
  };
}

function admitArgs({ now, policy, digits }: OtpAttemptInput): number[] {
  return [now, policy.maxFailures, policy.baseDelay, policy.maxDelay, digits];
}

function answer(id: string, [tag, v]: ScriptAnswer): OtpAttempt | { status: 'accepted' } {
  switch (tag) {
    case 0:
      return { status: 'unknown' };
    case 1:
      return { status: 'locked', lockedUntil: Number(v) };
    case 2:
      return { status: 'format', digits: Number(v) };
    case 3: {
      const flat = v as string[];
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
      return { status: 'admitted', record: toRecord(id, h) };
    }
    default:
      return { status: 'accepted' };
  }
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
    r.defineCommand('offtokenAdmit', { numberOfKeys: 1, lua: ADMIT });
    r.defineCommand('offtokenAcceptIf', { numberOfKeys: 1, lua: ACCEPT_IF });
    r.defineCommand('offtokenUnlock', { numberOfKeys: 1, lua: UNLOCK });
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
    return h.sealedSecret === undefined ? undefined : toRecord(id, h);
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

  async admitAttempt(id: string, attempt: OtpAttemptInput): Promise<OtpAttempt> {
    const a = await this.#run(() => this.#r.offtokenAdmit(this.#cred(id), ...admitArgs(attempt)));
    return answer(id, a) as OtpAttempt;
  }

  async acceptIfUnchanged(
    id: string,
    attempt: OtpAttemptInput,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    last: number,
    drift: number,
  ): Promise<OtpAttempt | { status: 'accepted' }> {
    const a = await this.#run(() =>
      this.#r.offtokenAcceptIf(
        this.#cred(id),
        expected.last,
        expected.drift,
        expected.sealedSecret,
        last,
        drift,
        ...admitArgs(attempt),
      ),
    );
    return answer(id, a);
  }

  async deleteCredential(id: string): Promise<boolean> {
    return (await this.#run(() => this.#r.del(this.#cred(id)))) === 1;
  }

  async listCredentialIds(limit: number): Promise<string[]> {
    // the prefix is the operator's text: escape it so it matches literally in the SCAN glob
    const match = `${this.#cred('').replace(/[*?[\]\\]/g, '\\$&')}*`;
    const start = this.#cred('').length;
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.#run(() => this.#r.scan(cursor, 'MATCH', match, 'COUNT', 500));
      cursor = next;
      for (const k of keys) ids.add(k.slice(start));
    } while (cursor !== '0');
    return [...ids].sort().slice(0, limit);
  }

  async unlockCredential(id: string): Promise<boolean> {
    return (await this.#run(() => this.#r.offtokenUnlock(this.#cred(id)))) === 1;
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
