import { type Clock, systemClock } from '../clock.js';
import { checkIpCondition } from './ip.js';
import { checkDevicePosture, type PostureRequirement } from './posture.js';
import { checkTimeWindow, type TimeWindow } from './time-window.js';

/** Context conditions a verifier evaluates (from token claims or caveats). All present parts must hold. */
export interface ContextConditions {
  ipRanges?: string[];
  posture?: PostureRequirement;
  time?: TimeWindow;
}

/** What the verifier knows about the request. */
export interface RequestContext {
  ip?: string;
  device?: Record<string, unknown>;
}

/** Throws ERR_CONDITION_FAILED naming the first condition that does not hold. */
export function evaluateConditions(
  conditions: ContextConditions,
  ctx: RequestContext,
  clock: Clock = systemClock,
): void {
  if (conditions.ipRanges) checkIpCondition(ctx.ip, conditions.ipRanges);
  if (conditions.posture) checkDevicePosture(ctx.device, conditions.posture);
  if (conditions.time) checkTimeWindow(conditions.time, clock);
}
