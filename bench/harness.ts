/**
 * A small benchmark harness: every case of a suite runs in the same process, back to back, so the
 * figures are comparable as ratios (against raw node:crypto, the physical limit, and against peers).
 */
export interface BenchCase {
  /** What is measured, shared by every implementation of it, e.g. `jwt verify EdDSA`. */
  case: string;
  /** Who does it: `node:crypto` (the limit), `offtoken`, or a peer's package name. */
  impl: string;
  /** One operation. May return a promise (awaited one at a time, as a caller would). */
  fn?: () => unknown;
  /** For cases that measure themselves (e.g. HTTP load): run for about `ms` and return ops per second. */
  measure?: (ms: number) => Promise<number>;
}

export interface BenchSuite {
  name: string;
  /**
   * Builds the cases (keys, tokens, servers) once; `teardown` releases what it started. With `quick` (the
   * `--quick` run, which must finish every suite within 60 s) a suite should scale down its own fixed costs:
   * pre-minted inputs, warm-up and minimum durations of self-measuring cases.
   */
  setup(opts?: { quick: boolean }): Promise<BenchCase[]>;
  teardown?(): Promise<void>;
}

export interface BenchResult {
  case: string;
  impl: string;
  opsPerSec: number;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

async function runFor(fn: () => unknown, ms: number): Promise<{ ops: number; seconds: number }> {
  const first = fn();
  const async = isThenable(first);
  if (async) await first;
  let ops = 0;
  let batch = 16;
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(ms * 1e6));
  let elapsed = 0n;
  while (elapsed < limit) {
    if (async) for (let i = 0; i < batch; i++) await fn();
    else for (let i = 0; i < batch; i++) fn();
    ops += batch;
    elapsed = process.hrtime.bigint() - start;
    if (batch < 4096 && elapsed < limit / 8n) batch *= 2;
  }
  return { ops, seconds: Number(elapsed) / 1e9 };
}

/** Median of `rounds` timed rounds after a warm-up, in operations per second. */
export async function measureCase(c: BenchCase, opts: { roundMs: number; rounds: number }): Promise<number> {
  return (await measureGroup([c], opts))[0]!;
}

/**
 * Measures the implementations of one case together: after a warm-up of each, every round runs each
 * implementation in turn, and each gets the median of its rounds. Interleaving keeps the ratios fair when
 * the machine's load drifts during the run (a busy machine slows all of them in the same rounds).
 * Self-measuring cases (`measure`) run on their own, once.
 */
export async function measureGroup(
  cases: readonly BenchCase[],
  opts: { roundMs: number; rounds: number },
): Promise<number[]> {
  const out = new Array<number>(cases.length).fill(0);
  const timed: number[] = [];
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    if (c.measure) out[i] = await c.measure(opts.roundMs * opts.rounds);
    else if (c.fn) timed.push(i);
    else throw new Error(`case ${c.case}/${c.impl} has neither fn nor measure`);
  }
  const warm = Math.max(30, opts.roundMs / 2);
  for (const i of timed) await runFor(cases[i]!.fn!, warm);
  const rates = timed.map(() => [] as number[]);
  for (let r = 0; r < opts.rounds; r++) {
    for (let t = 0; t < timed.length; t++) {
      const { ops, seconds } = await runFor(cases[timed[t]!]!.fn!, opts.roundMs);
      rates[t]!.push(ops / seconds);
    }
  }
  for (let t = 0; t < timed.length; t++) {
    const list = rates[t]!.sort((a, b) => a - b);
    out[timed[t]!] = list[Math.floor(list.length / 2)]!;
  }
  return out;
}
