import { type Clock, systemClock } from '../clock.js';
import { type CaveatContext, evaluateCaveat } from './caveats.js';
import { verifyChain } from './token.js';

export interface VerifyAttenuatedOptions extends CaveatContext {
  clock?: Clock;
}

/**
 * Checks the HMAC chain (ERR_ATTENUATION_INVALID) then EVERY caveat against the request
 * (ERR_CAVEAT_FAILED / ERR_CAVEAT_UNKNOWN). Returns the identifier and caveats.
 */
export function verifyAttenuated(
  rootKey: Uint8Array,
  token: string,
  opts: VerifyAttenuatedOptions = {},
): { id: string; caveats: string[] } {
  const t = verifyChain(rootKey, token);
  const clock = opts.clock ?? systemClock;
  for (const c of t.caveats) evaluateCaveat(c, opts, clock);
  return { id: t.id, caveats: t.caveats };
}
