import { type Clock, systemClock } from '../clock.js';
import { ConditionFailedError } from '../errors/dpop.js';
import { type ContextConditions, evaluateConditions, type RequestContext } from './evaluate.js';

/**
 * Evaluates the context conditions an issuer put in a verified token's claims, under `claim` (default
 * `ctx`): `{ "ip": ["10.0.0.0/8"], "posture": { "managed": true }, "time": { "days": [1,2,3,4,5],
 * "hours": [9, 17], "utcOffsetMinutes": 60 } }`. A malformed claim fails closed (condition `malformed`):
 * a token whose restrictions cannot be read must not be treated as unrestricted.
 */
export function checkClaimConditions(
  claims: Record<string, unknown>,
  ctx: RequestContext,
  opts: { claim?: string; clock?: Clock } = {},
): void {
  const raw = claims[opts.claim ?? 'ctx'];
  if (raw === undefined) return;
  const malformed = () =>
    new ConditionFailedError('the token carries malformed context conditions', { condition: 'malformed' });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed();
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'ip' && k !== 'posture' && k !== 'time') throw malformed();
  const c: ContextConditions = {};
  if (r.ip !== undefined) {
    if (!Array.isArray(r.ip) || r.ip.length > 64 || !r.ip.every((x) => typeof x === 'string'))
      throw malformed();
    c.ipRanges = r.ip as string[];
  }
  if (r.posture !== undefined) {
    if (typeof r.posture !== 'object' || r.posture === null || Array.isArray(r.posture)) throw malformed();
    c.posture = r.posture as ContextConditions['posture'] & object;
  }
  if (r.time !== undefined) {
    if (typeof r.time !== 'object' || r.time === null || Array.isArray(r.time)) throw malformed();
    c.time = r.time as ContextConditions['time'] & object;
  }
  try {
    evaluateConditions(c, ctx, opts.clock ?? systemClock);
  } catch (e) {
    if (e instanceof ConditionFailedError) throw e;
    throw malformed();
  }
}
