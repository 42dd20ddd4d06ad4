import { type Clock, systemClock } from '../clock.js';
import type {
  NewOtpCredential,
  OfftokenStore,
  OtpAttempt,
  OtpAttemptInput,
  OtpCredentialRecord,
} from './types.js';
import { lockoutDelay } from './types.js';

/** In-process store for tests and single-process tools. State dies with the process. */
export class MemoryStore implements OfftokenStore {
  readonly #replay = new Map<string, number>();
  readonly #counters = new Map<string, number>();
  readonly #creds = new Map<string, OtpCredentialRecord>();
  readonly #clock: Clock;
  #ops = 0;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async consumeOnce(namespace: string, key: string, expiresAt: number): Promise<boolean> {
    const now = this.#clock();
    if (++this.#ops % 1024 === 0) this.#prune(now);
    const k = `${namespace}\u0000${key}`;
    const held = this.#replay.get(k);
    if (held !== undefined && held > now) return false;
    this.#replay.set(k, expiresAt);
    return true;
  }

  #prune(now: number): void {
    for (const [k, exp] of this.#replay) if (exp <= now) this.#replay.delete(k);
  }

  async advanceCounter(namespace: string, key: string, value: number): Promise<boolean> {
    const k = `${namespace}\u0000${key}`;
    const cur = this.#counters.get(k) ?? -1;
    if (!(value > cur)) return false;
    this.#counters.set(k, value);
    return true;
  }

  async getCredential(id: string): Promise<OtpCredentialRecord | undefined> {
    const r = this.#creds.get(id);
    return r === undefined ? undefined : { ...r };
  }

  async createCredential(record: NewOtpCredential): Promise<boolean> {
    if (this.#creds.has(record.id)) return false;
    this.#creds.set(record.id, { ...record, last: -1, drift: 0, failures: 0, lockedUntil: 0 });
    return true;
  }

  async admitAttempt(id: string, attempt: OtpAttemptInput): Promise<OtpAttempt> {
    return this.#admit(id, attempt);
  }

  // Synchronous from the read to the write: no other call can run in between, which is the atomicity.
  #admit(id: string, { now, policy, digits }: OtpAttemptInput): OtpAttempt {
    const r = this.#creds.get(id);
    if (r === undefined) return { status: 'unknown' };
    if (r.lockedUntil > now) return { status: 'locked', lockedUntil: r.lockedUntil };
    if (r.digits !== digits) return { status: 'format', digits: r.digits };
    r.failures += 1;
    const d = lockoutDelay(r.failures, policy);
    if (d > 0) r.lockedUntil = Math.floor(now) + d;
    return { status: 'admitted', record: { ...r } };
  }

  async recordSuccess(id: string, last: number, drift: number): Promise<boolean> {
    const r = this.#creds.get(id);
    if (r === undefined || !(last > r.last)) return false;
    r.last = last;
    r.drift = drift;
    r.failures = 0;
    r.lockedUntil = 0;
    return true;
  }

  async acceptIfUnchanged(
    id: string,
    attempt: OtpAttemptInput,
    expected: Pick<OtpCredentialRecord, 'last' | 'drift' | 'sealedSecret'>,
    last: number,
    drift: number,
  ): Promise<OtpAttempt | { status: 'accepted' }> {
    const r = this.#creds.get(id);
    if (
      r === undefined ||
      r.last !== expected.last ||
      r.drift !== expected.drift ||
      r.sealedSecret !== expected.sealedSecret ||
      r.lockedUntil > attempt.now ||
      r.failures >= attempt.policy.maxFailures ||
      !(last > r.last)
    )
      return this.#admit(id, attempt);
    r.last = last;
    r.drift = drift;
    r.failures = 0;
    r.lockedUntil = 0;
    return { status: 'accepted' };
  }

  async deleteCredential(id: string): Promise<boolean> {
    return this.#creds.delete(id);
  }

  async listCredentialIds(limit: number): Promise<string[]> {
    return [...this.#creds.keys()].sort().slice(0, limit);
  }

  async unlockCredential(id: string): Promise<boolean> {
    const r = this.#creds.get(id);
    if (r === undefined) return false;
    r.failures = 0;
    r.lockedUntil = 0;
    return true;
  }

  async close(): Promise<void> {}
}
