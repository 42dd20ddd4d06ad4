import { type Clock, systemClock } from '../clock.js';
import { ipInRanges } from '../conditions/ip.js';
import { checkTimeWindow } from '../conditions/time-window.js';
import { CaveatFailedError, CaveatUnknownError, ConditionFailedError } from '../errors/dpop.js';

/**
 * The caveat language (docs/formats/attenuated-token.md), one predicate per caveat:
 *   `time < 1767225600`        now (unix s) strictly before T
 *   `resource ^ /docs/2026/`   the requested resource starts with the prefix
 *   `action in read,list`      the requested action is one of the list
 *   `ip in 10.0.0.0/8,::1`     the client address lies in one of the CIDR ranges
 *   `hours in 9-17 utc+60`     the local hour (fixed UTC offset in minutes, default 0) is in [9, 17)
 *   `days in 1,2,3,4,5 utc+60` the local day of the week (0 = Sunday) is one of the list
 *   `device.managed in true`   the device posture claim, a string/number/boolean, is one of the list
 */
export const caveat = {
  expires: (t: number): string => `time < ${Math.floor(t)}`,
  resourcePrefix: (p: string): string => `resource ^ ${p}`,
  actions: (...a: string[]): string => `action in ${a.join(',')}`,
  ipRanges: (...r: string[]): string => `ip in ${r.join(',')}`,
  hours: (start: number, end: number, utcOffsetMinutes = 0): string =>
    `hours in ${start}-${end}${offset(utcOffsetMinutes)}`,
  days: (days: number[], utcOffsetMinutes = 0): string =>
    `days in ${days.join(',')}${offset(utcOffsetMinutes)}`,
  device: (claim: string, ...values: (string | number | boolean)[]): string =>
    `device.${claim} in ${values.join(',')}`,
};

function offset(m: number): string {
  return m === 0 ? '' : ` utc${m > 0 ? '+' : '-'}${Math.abs(m)}`;
}

export interface CaveatContext {
  resource?: string;
  action?: string;
  ip?: string;
  /** Device posture claims of the requesting device (for `device.<claim> in ...` caveats). */
  device?: Record<string, unknown>;
}

const RE =
  /^(time) < (\d{1,15})$|^(resource) \^ (.+)$|^(action) in ([^\s,]+(?:,[^\s,]+)*)$|^(ip) in ([0-9A-Fa-f:./,]+)$/;
const HOURS = /^hours in (\d{1,2})-(\d{1,2})(?: utc([+-]\d{1,3}))?$/;
const DAYS = /^days in ([0-6](?:,[0-6]){0,6})(?: utc([+-]\d{1,3}))?$/;
const DEVICE = /^device\.([A-Za-z0-9_-]{1,64}) in ([^\s,]+(?:,[^\s,]+)*)$/;

/** Evaluates one caveat; unknown -> ERR_CAVEAT_UNKNOWN, unsatisfied -> ERR_CAVEAT_FAILED (never ignored). */
export function evaluateCaveat(c: string, ctx: CaveatContext, clock: Clock = systemClock): void {
  const unknown = (why: string) => new CaveatUnknownError(why, { caveat: c });
  let ok: boolean;
  const m = RE.exec(c);
  if (m) {
    if (m[1]) ok = clock() < Number(m[2]);
    else if (m[3]) ok = typeof ctx.resource === 'string' && ctx.resource.startsWith(m[4] as string);
    else if (m[5]) ok = typeof ctx.action === 'string' && (m[6] as string).split(',').includes(ctx.action);
    else {
      try {
        ok = typeof ctx.ip === 'string' && ipInRanges(ctx.ip, (m[8] as string).split(','));
      } catch {
        throw unknown('the ip caveat holds an invalid range');
      }
    }
  } else if (HOURS.test(c) || DAYS.test(c)) {
    ok = timeCaveat(c, clock, unknown);
  } else {
    const d = DEVICE.exec(c);
    if (!d) throw unknown('the token carries a caveat this verifier does not understand');
    const name = d[1] as string;
    const got = ctx.device && Object.hasOwn(ctx.device, name) ? ctx.device[name] : undefined;
    // primitive claims only: an object or array never matches by its string form
    ok =
      (typeof got === 'string' || typeof got === 'number' || typeof got === 'boolean') &&
      (d[2] as string).split(',').includes(String(got));
  }
  if (!ok) throw new CaveatFailedError(`caveat not satisfied: ${c.slice(0, 80)}`, { caveat: c });
}

/** `hours in` / `days in` through the same time-window check the claim conditions use. */
function timeCaveat(c: string, clock: Clock, unknown: (why: string) => Error): boolean {
  const h = HOURS.exec(c);
  const d = DAYS.exec(c);
  const off = Number((h ? h[3] : d?.[2]) ?? 0);
  const window = h
    ? { hours: [Number(h[1]), Number(h[2])] as [number, number], utcOffsetMinutes: off }
    : { days: (d?.[1] ?? '').split(',').map(Number), utcOffsetMinutes: off };
  try {
    checkTimeWindow(window, clock);
    return true;
  } catch (e) {
    if (e instanceof ConditionFailedError) return false;
    // out-of-range hours or offset: a caveat whose meaning is unclear is refused, never ignored
    throw unknown('the time caveat is out of range');
  }
}
