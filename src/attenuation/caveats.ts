import { type Clock, systemClock } from '../clock.js';
import { ipInRanges } from '../conditions/ip.js';
import { CaveatFailedError, CaveatUnknownError } from '../errors/dpop.js';

/**
 * The caveat language (docs/formats/attenuated-token.md), one predicate per caveat:
 *   `time < 1767225600`      now (unix s) strictly before T
 *   `resource ^ /docs/2026/` the requested resource starts with the prefix
 *   `action in read,list`    the requested action is one of the list
 *   `ip in 10.0.0.0/8,::1`   the client address lies in one of the CIDR ranges
 */
export const caveat = {
  expires: (t: number): string => `time < ${Math.floor(t)}`,
  resourcePrefix: (p: string): string => `resource ^ ${p}`,
  actions: (...a: string[]): string => `action in ${a.join(',')}`,
  ipRanges: (...r: string[]): string => `ip in ${r.join(',')}`,
};

export interface CaveatContext {
  resource?: string;
  action?: string;
  ip?: string;
}

const RE =
  /^(time) < (\d{1,15})$|^(resource) \^ (.+)$|^(action) in ([^\s,]+(?:,[^\s,]+)*)$|^(ip) in ([0-9A-Fa-f:./,]+)$/;

/** Evaluates one caveat; unknown -> ERR_CAVEAT_UNKNOWN, unsatisfied -> ERR_CAVEAT_FAILED (never ignored). */
export function evaluateCaveat(c: string, ctx: CaveatContext, clock: Clock = systemClock): void {
  const m = RE.exec(c);
  if (!m)
    throw new CaveatUnknownError('the token carries a caveat this verifier does not understand', {
      caveat: c,
    });
  let ok: boolean;
  if (m[1]) ok = clock() < Number(m[2]);
  else if (m[3]) ok = typeof ctx.resource === 'string' && ctx.resource.startsWith(m[4] as string);
  else if (m[5]) ok = typeof ctx.action === 'string' && (m[6] as string).split(',').includes(ctx.action);
  else {
    try {
      ok = typeof ctx.ip === 'string' && ipInRanges(ctx.ip, (m[8] as string).split(','));
    } catch {
      throw new CaveatUnknownError('the ip caveat holds an invalid range', { caveat: c });
    }
  }
  if (!ok) throw new CaveatFailedError(`caveat not satisfied: ${c.slice(0, 80)}`, { caveat: c });
}
