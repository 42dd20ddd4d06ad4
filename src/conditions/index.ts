export { checkClaimConditions } from './claims.js';
export { type ContextConditions, evaluateConditions, type RequestContext } from './evaluate.js';
export { checkIpCondition, compileCidrs, ipInRanges } from './ip.js';
export { checkDevicePosture, type PostureRequirement } from './posture.js';
export { checkTimeWindow, type TimeWindow } from './time-window.js';
