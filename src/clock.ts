/** A source of the current time in unix seconds (may be fractional). Injected so tests and offline replays can pin it. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now() / 1000;

/** Whole unix seconds from a clock. */
export function nowSeconds(clock: Clock = systemClock): number {
  return Math.floor(clock());
}
